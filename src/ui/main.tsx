// The admin UI: StreamSpace's look (dark MUI theme, 260 px permanent drawer), three pages under
// P/admin/, and the sign-in box when no StreamSpace token is found.
import { Component, StrictMode, useEffect, useMemo, useState, type ReactNode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter, NavLink, Navigate, Route, Routes } from 'react-router-dom'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import {
  Alert, AppBar, Box, Button, CssBaseline, Drawer, List, ListItem, ListItemButton, ListItemText, Paper, TextField, ThemeProvider, Toolbar, Typography,
  createTheme, useMediaQuery,
} from '@mui/material'
import { API_PREFIX, ApiError, lastSignOutReason, saveToken, signInFromFragment, signOut, tokenClaims, useToken } from './api'
import NodesPage from './pages/Nodes.tsx'
import NodePage from './pages/Node.tsx'
import HealthPage from './pages/Health.tsx'
import ResourcesPage from './pages/Resources.tsx'
import SettingsPage from './pages/Settings.tsx'
import MaintenancePage from './pages/Maintenance.tsx'
import AutoscalingPage from './pages/Autoscaling.tsx'

// StreamSpace's two palettes (ui/src/App.tsx createAppTheme), chosen by the system setting
// (prefers-color-scheme); Inter first (system fonts when it is not installed).
function appTheme(mode: 'light' | 'dark') {
  return createTheme({
    palette: {
      mode,
      primary: { main: '#3f51b5' },
      secondary: { main: '#f50057' },
      background: mode === 'dark' ? { default: '#0a1929', paper: '#132f4c' } : { default: '#f5f5f5', paper: '#ffffff' },
      // WCAG AA (4.5:1) for text in status colors: MUI's defaults fall short on these backgrounds
      // (dark: red #f44336 on the paper 3.7:1; light: orange #ed6c02 on white 3.1:1, blue #0288d1 3.9:1).
      ...(mode === 'dark' ? { error: { main: '#ff8a80' } } : { warning: { main: '#b45309' }, info: { main: '#01579b' } }),
      // Text on a filled color is white or black, whichever reaches 4.5:1.
      contrastThreshold: 4.5,
    },
    typography: { fontFamily: '"Inter", "Roboto", "Helvetica", "Arial", system-ui, sans-serif' },
    components: {
      MuiCard: { styleOverrides: { root: { backgroundImage: 'none' } } },
      // StreamSpace's indigo is too dark to read as text on its dark paper (contrast 2.4:1): links
      // and text buttons take its light tone there; filled buttons keep it.
      ...(mode === 'dark' ? {
        MuiLink: { styleOverrides: { root: { color: '#9fa8da', textDecorationColor: 'rgba(159, 168, 218, 0.5)' } } },
        MuiButton: { styleOverrides: { text: { color: '#9fa8da' }, outlined: { color: '#9fa8da', borderColor: 'rgba(159, 168, 218, 0.5)' } } },
        MuiFormLabel: { styleOverrides: { root: { '&.Mui-focused': { color: '#9fa8da' } } } },
      } : {}),
    },
  })
}

function Themed({ children }: { children: ReactNode }) {
  const dark = useMediaQuery('(prefers-color-scheme: dark)', { noSsr: true })
  const mode = dark ? 'dark' : 'light'
  const theme = useMemo(() => appTheme(mode), [mode])
  // For tests and style sheets: the scheme in force.
  useEffect(() => { document.documentElement.dataset.colorScheme = mode }, [mode])
  return <ThemeProvider theme={theme}><CssBaseline />{children}</ThemeProvider>
}

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
  { to: '/maintenance', label: 'Maintenance' },
  { to: '/autoscaling', label: 'Autoscaling' },
  { to: '/settings', label: 'Settings' },
]

function Layout({ children }: { children: ReactNode }) {
  const token = useToken()
  const claims = tokenClaims(token)
  return (
    <Box sx={{ display: 'flex', minHeight: '100vh' }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1, bgcolor: 'background.paper', backgroundImage: 'none' }} elevation={1}>
        <Toolbar>
          <Typography variant="h6" sx={{ flexGrow: 1 }}>StreamSpace Admin · Node Manager</Typography>
          <Typography variant="body2" sx={{ mr: 2 }} color="text.secondary" data-testid="whoami">{claims?.username ?? ''}</Typography>
          <Button color="inherit" onClick={() => { queryClient.clear(); signOut() }}>Sign out</Button>
        </Toolbar>
      </AppBar>
      {/* The drawer's column spans the whole page however long it is; its paper stays in view. */}
      <Drawer variant="permanent" data-testid="sidebar"
        sx={{ width: DRAWER, flexShrink: 0, alignSelf: 'stretch', bgcolor: 'background.paper', borderRight: 1, borderColor: 'divider', '& .MuiDrawer-paper': { width: DRAWER, boxSizing: 'border-box', position: 'sticky', top: 0, height: '100vh', border: 'none' } }}>
        <Toolbar />
        <Box component="nav" aria-label="Admin pages"><List>
          {NAV.map((n) => (
            <ListItem key={n.to} disablePadding>
              <ListItemButton component={NavLink} to={n.to} sx={{ '&.active': { bgcolor: 'action.selected' } }}>
                <ListItemText primary={n.label} />
              </ListItemButton>
            </ListItem>
          ))}
        </List></Box>
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
          <Route path="/maintenance" element={<MaintenancePage />} />
          <Route path="/autoscaling" element={<AutoscalingPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="*" element={<Alert severity="warning">No such page. Try Cluster Nodes, Cluster Health or Node Resources.</Alert>} />
        </Routes>
      </ErrorBoundary>
    </Layout>
  )
}

signInFromFragment()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Themed>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename={`${API_PREFIX}/admin`}>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </Themed>
  </StrictMode>,
)
