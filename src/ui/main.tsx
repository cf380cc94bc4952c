// The admin UI: StreamSpace's look (dark MUI theme, 260 px permanent drawer), three pages under
// P/admin/, and the sign-in box when no StreamSpace token is found.
import { Component, StrictMode, useState, type ReactNode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter, NavLink, Navigate, Route, Routes } from 'react-router-dom'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import {
  Alert, AppBar, Box, Button, CssBaseline, Drawer, List, ListItemButton, ListItemText, Paper, TextField, ThemeProvider, Toolbar, Typography,
  createTheme,
} from '@mui/material'
import { API_PREFIX, ApiError, lastSignOutReason, saveToken, signInFromFragment, signOut, tokenClaims, useToken } from './api'
import NodesPage from './pages/Nodes.tsx'
import NodePage from './pages/Node.tsx'
import HealthPage from './pages/Health.tsx'
import ResourcesPage from './pages/Resources.tsx'

// StreamSpace's theme (ui/src/App.tsx): dark by default, Inter first (system fonts when it is not installed).
const theme = createTheme({
  palette: {
    mode: 'dark',
    primary: { main: '#3f51b5' },
    secondary: { main: '#f50057' },
    background: { default: '#0a1929', paper: '#132f4c' },
  },
  typography: { fontFamily: '"Inter", "Roboto", "Helvetica", "Arial", system-ui, sans-serif' },
})

const DRAWER = 260

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 401/403 will not fix themselves; other failures get one quick retry.
      retry: (count, err) => !(err instanceof ApiError && [401, 403, 404].includes(err.status)) && count < 1,
      refetchOnWindowFocus: false,
    },
  },
})

function SignIn() {
  const [token, setToken] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const refused = lastSignOutReason()
  const submit = () => {
    const t = token.trim().replace(/^Bearer\s+/i, '')
    if (t.split('.').length !== 3) {
      setProblem('That is not a JWT: a StreamSpace token has three parts separated by dots.')
      return
    }
    queryClient.clear()
    saveToken(t)
  }
  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', p: 2 }}>
      <Paper sx={{ p: 4, width: 520, maxWidth: '100%' }} component="form" onSubmit={(e) => { e.preventDefault(); submit() }}>
        <Typography variant="h5" gutterBottom>StreamSpace Node Manager</Typography>
        <Typography variant="body2" color="text.secondary" gutterBottom>
          Sign in with a StreamSpace admin token (the JWT StreamSpace issued you). On StreamSpace&apos;s own host you are signed in already.
          On the embedded simulated cluster, open the sign-in link the service prints when it starts.
        </Typography>
        {refused && <Alert severity="warning" sx={{ my: 2 }} data-testid="signed-out-reason">{refused}</Alert>}
        {problem && <Alert severity="error" sx={{ my: 2 }}>{problem}</Alert>}
        <TextField
          label="Admin token" value={token} onChange={(e) => { setToken(e.target.value); setProblem(null) }}
          fullWidth multiline minRows={3} margin="normal" inputProps={{ 'data-testid': 'token-input', spellCheck: false }}
        />
        <Button type="submit" variant="contained" disabled={!token.trim()} data-testid="sign-in">Sign in</Button>
      </Paper>
    </Box>
  )
}

const NAV = [
  { to: '/nodes', label: 'Cluster Nodes' },
  { to: '/health', label: 'Cluster Health' },
  { to: '/resources', label: 'Node Resources' },
]

function Layout({ children }: { children: ReactNode }) {
  const token = useToken()
  const claims = tokenClaims(token)
  return (
    <Box sx={{ display: 'flex' }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1, bgcolor: 'background.paper', backgroundImage: 'none' }} elevation={1}>
        <Toolbar>
          <Typography variant="h6" sx={{ flexGrow: 1 }}>StreamSpace Admin · Node Manager</Typography>
          <Typography variant="body2" sx={{ mr: 2 }} color="text.secondary" data-testid="whoami">{claims?.username ?? ''}</Typography>
          <Button color="inherit" onClick={() => { queryClient.clear(); signOut() }}>Sign out</Button>
        </Toolbar>
      </AppBar>
      <Drawer variant="permanent" sx={{ width: DRAWER, flexShrink: 0, '& .MuiDrawer-paper': { width: DRAWER, boxSizing: 'border-box' } }}>
        <Toolbar />
        <List>
          {NAV.map((n) => (
            <ListItemButton key={n.to} component={NavLink} to={n.to} sx={{ '&.active': { bgcolor: 'action.selected' } }}>
              <ListItemText primary={n.label} />
            </ListItemButton>
          ))}
        </List>
      </Drawer>
      <Box component="main" sx={{ flexGrow: 1, p: 3, minWidth: 0 }}>
        <Toolbar />
        {children}
      </Box>
    </Box>
  )
}

/** Never a blank page: a render error shows in words. */
class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null }
  static getDerivedStateFromError(error: Error) { return { error } }
  render() {
    if (this.state.error) {
      return (
        <Box sx={{ p: 4 }}>
          <Alert severity="error">The page failed: {this.state.error.message}. <Button onClick={() => this.setState({ error: null })}>Try again</Button></Alert>
        </Box>
      )
    }
    return this.props.children
  }
}

function App() {
  const token = useToken()
  if (!token) return <SignIn />
  return (
    <Layout>
      <ErrorBoundary>
        <Routes>
          <Route path="/" element={<Navigate to="/nodes" replace />} />
          <Route path="/nodes" element={<NodesPage />} />
          <Route path="/nodes/:name" element={<NodePage />} />
          <Route path="/health" element={<HealthPage />} />
          <Route path="/resources" element={<ResourcesPage />} />
          <Route path="*" element={<Alert severity="warning">No such page. Try Cluster Nodes, Cluster Health or Node Resources.</Alert>} />
        </Routes>
      </ErrorBoundary>
    </Layout>
  )
}

signInFromFragment()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename={`${API_PREFIX}/admin`}>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </ThemeProvider>
  </StrictMode>,
)
