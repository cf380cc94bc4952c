// "Where would the next session go?": POST P/nodes/select with a CPU and memory request; the chosen
// node highlighted, the other candidates in order, every excluded node with the scheduler's reasons.
import { useState } from 'react'
import { Link as RouterLink } from 'react-router-dom'
import {
  Alert, Box, Button, Card, CardContent, CardHeader, Chip, Link, MenuItem, Stack, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography,
} from '@mui/material'
import type { Static } from 'typebox'
import { ApiError, api, describeError, enc } from '../api'
import type { Selection } from '../../schemas/selection.js'
import { Bytes, Cores } from '../Readable.tsx'

type Answer = Static<typeof Selection>
type Excluded = Answer['excluded']
const STRATEGIES = ['', 'least-sessions', 'most-resources', 'random', 'round-robin']

export default function NextSession() {
  const [cpu, setCpu] = useState('1')
  const [memory, setMemory] = useState('2Gi')
  const [strategy, setStrategy] = useState('')
  const [answer, setAnswer] = useState<Answer | null>(null)
  const [noFit, setNoFit] = useState<{ message: string; excluded: Excluded } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const ask = async () => {
    setAnswer(null); setNoFit(null); setError(null)
    try {
      setAnswer(await api<Answer>('/nodes/select', { method: 'POST', json: { cpu, memory, ...(strategy ? { strategy } : {}) } }))
    } catch (err) {
      // 409: nothing fits; the scheduler-style summary and each node's reasons.
      if (err instanceof ApiError && err.status === 409) setNoFit({ message: err.message, excluded: (err.details as { excluded?: Excluded } | undefined)?.excluded ?? [] })
      else setError(describeError(err))
    }
  }
  const excluded = answer?.excluded ?? noFit?.excluded ?? []
  return (
    <Card sx={{ mb: 2 }} data-testid="next-session">
      <CardHeader title="Where would the next session go?" subheader="The node StreamSpace's next session would be placed on, and why the others would not take it" />
      <CardContent>
        <Stack component="form" direction="row" spacing={2} alignItems="flex-start" onSubmit={(e) => { e.preventDefault(); void ask() }}>
          <TextField size="small" label="CPU request" value={cpu} onChange={(e) => setCpu(e.target.value)} helperText='e.g. "500m", "2"' inputProps={{ 'data-testid': 'select-cpu' }} />
          <TextField size="small" label="Memory request" value={memory} onChange={(e) => setMemory(e.target.value)} helperText='e.g. "512Mi", "4Gi"' inputProps={{ 'data-testid': 'select-memory' }} />
          <TextField size="small" select label="Strategy" value={strategy} onChange={(e) => setStrategy(e.target.value)} sx={{ minWidth: 180 }}>
            {STRATEGIES.map((s) => <MenuItem key={s} value={s}>{s || 'as configured'}</MenuItem>)}
          </TextField>
          <Button type="submit" variant="contained" data-testid="select-ask">Ask</Button>
        </Stack>
        {error && <Alert severity="error" sx={{ mt: 2 }} data-testid="select-error">{error}</Alert>}
        {noFit && <Alert severity="warning" sx={{ mt: 2 }} data-testid="select-nofit">No node would take it: {noFit.message}</Alert>}
        {answer && (
          <Box sx={{ mt: 2 }}>
            <Alert severity="success" data-testid="select-chosen">
              <b>{answer.node}</b> ({answer.strategy}): {answer.reason}
            </Alert>
            <Table size="small" sx={{ mt: 1 }} data-testid="select-candidates">
              <TableHead><TableRow><TableCell>Rank</TableCell><TableCell>Node</TableCell><TableCell>Sessions</TableCell><TableCell>CPU free</TableCell><TableCell>Memory free</TableCell><TableCell>Free after</TableCell></TableRow></TableHead>
              <TableBody>{answer.candidates.slice(0, 20).map((c) => (
                <TableRow key={c.node} data-node={c.node} selected={c.node === answer.node} aria-current={c.node === answer.node ? 'true' : undefined}>
                  <TableCell>{c.rank}</TableCell>
                  <TableCell><Link to={`/nodes/${enc(c.node)}`} component={RouterLink}>{c.node}</Link>{c.node === answer.node && <Chip size="small" color="success" label="chosen" sx={{ ml: 1 }} />}</TableCell>
                  <TableCell>{c.sessions}</TableCell>
                  <TableCell><Cores value={c.cpu_free} /></TableCell>
                  <TableCell><Bytes value={c.memory_free} /></TableCell>
                  <TableCell>{c.free_after_percent.toFixed(1)}%</TableCell>
                </TableRow>
              ))}</TableBody>
            </Table>
            {answer.candidates.length > 20 && <Typography variant="body2" color="text.secondary">and {answer.candidates.length - 20} more eligible nodes</Typography>}
          </Box>
        )}
        {excluded.length > 0 && (
          <Box sx={{ mt: 2 }} data-testid="select-excluded">
            <Typography variant="subtitle2">Excluded ({excluded.length})</Typography>
            <Box component="ul" sx={{ m: 0, pl: 3, maxHeight: 240, overflow: 'auto' }}>
              {excluded.map((x) => <li key={x.node} data-node={x.node}><b>{x.node}</b>: {x.reasons.join('; ')}</li>)}
            </Box>
          </Box>
        )}
      </CardContent>
    </Card>
  )
}
