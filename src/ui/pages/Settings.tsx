// Settings: the seed options in force (GET P/config), edited in a form. Saved with If-Match (the
// ETag the form was loaded with), so a change someone else made meanwhile is shown, never
// overwritten; the server's validation message appears beside the option it names.
import { useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import {
  Alert, Box, Button, Card, CardContent, FormControlLabel, LinearProgress, MenuItem, Stack, Switch, TextField, Typography,
} from '@mui/material'
import { ApiError, describeError, request } from '../api'

/** GET P/config's answer (src/schemas/config.ts EffectiveOptions; its module pulls in the server's config loader). */
interface Options {
  enableAutoScaling: boolean; scaleUpThreshold: number; scaleDownThreshold: number; nodeSelectionStrategy: string
  healthCheckInterval: number; metricsEnabled: boolean; alertOnNodeFailure: boolean; minNodes: number; maxNodes: number
}
type Key = keyof Options

const FIELDS: { key: Key; label: string; help: string; kind: 'number' | 'boolean' | 'strategy' }[] = [
  { key: 'enableAutoScaling', label: 'Automatic scaling', help: 'Act on recommendations through the cluster\'s autoscaler', kind: 'boolean' },
  { key: 'scaleUpThreshold', label: 'Scale up above (%)', help: '50 to 95: requested CPU or memory over allocatable', kind: 'number' },
  { key: 'scaleDownThreshold', label: 'Scale down below (%)', help: '5 to 50, below the scale-up threshold', kind: 'number' },
  { key: 'minNodes', label: 'Minimum nodes', help: '1 to 100, at most the maximum', kind: 'number' },
  { key: 'maxNodes', label: 'Maximum nodes', help: '1 to 1000', kind: 'number' },
  { key: 'nodeSelectionStrategy', label: 'Node selection strategy', help: 'Where the next session goes', kind: 'strategy' },
  { key: 'healthCheckInterval', label: 'Health check interval (s)', help: '30 to 600 seconds', kind: 'number' },
  { key: 'metricsEnabled', label: 'Collect metrics', help: 'Prometheus metrics and usage history', kind: 'boolean' },
  { key: 'alertOnNodeFailure', label: 'Alert on node failure', help: 'Alertmanager, webhook and Events when a node goes NotReady', kind: 'boolean' },
]
const STRATEGIES = ['least-sessions', 'most-resources', 'random', 'round-robin']

interface Loaded { options: Options; etag: string | null }

async function loadConfig(): Promise<Loaded> {
  const res = await request('/config')
  return { options: await res.json() as Options, etag: res.headers.get('etag') }
}

/** The server's 400 names options: each problem goes beside the first option it names. */
function problemsByField(message: string): Partial<Record<Key, string>> {
  const out: Partial<Record<Key, string>> = {}
  for (const problem of message.replace(/^[^:]*invalid[^:]*:\s*/i, '').split(/;\s*/)) {
    const key = FIELDS.map((f) => f.key).find((k) => new RegExp(`\\b${k}\\b`).test(problem))
    if (key) out[key] = out[key] ? `${out[key]}; ${problem}` : problem
  }
  return out
}

export default function SettingsPage() {
  const qc = useQueryClient()
  const config = useQuery({ queryKey: ['config'], queryFn: loadConfig, refetchOnMount: 'always' })
  // The form: the values as loaded plus the user's edits (text, so a half-typed number stays as typed).
  const [edits, setEdits] = useState<Partial<Record<Key, string | boolean>>>({})
  const [problems, setProblems] = useState<Partial<Record<Key, string>>>({})
  const [error, setError] = useState<string | null>(null)
  const [conflict, setConflict] = useState<{ theirs: Options; etag: string | null; changed: Key[] } | null>(null)
  const [saved, setSaved] = useState(false)
  const [busy, setBusy] = useState(false)

  const loaded = config.data
  if (!loaded) {
    return <Box><Typography variant="h4" gutterBottom>Settings</Typography>
      {config.error ? <Alert severity="error" data-testid="error">{describeError(config.error)}</Alert> : <LinearProgress />}</Box>
  }
  const value = (k: Key) => (k in edits ? edits[k]! : loaded.options[k])
  const changedKeys = (Object.keys(edits) as Key[]).filter((k) => String(edits[k]) !== String(loaded.options[k]))
  const edit = (k: Key, v: string | boolean) => { setEdits((e) => ({ ...e, [k]: v })); setSaved(false); setProblems((p) => ({ ...p, [k]: undefined })) }

  const save = async (against: Loaded) => {
    setBusy(true); setError(null); setProblems({}); setConflict(null)
    const body: Record<string, unknown> = {}
    for (const k of changedKeys) {
      const f = FIELDS.find((x) => x.key === k)!
      body[k] = f.kind === 'number' ? (edits[k] === '' ? null : Number(edits[k])) : edits[k]
    }
    try {
      const res = await request('/config', { method: 'PUT', json: body, headers: against.etag ? { 'if-match': against.etag } : {} })
      const now = { options: await res.json() as Options, etag: res.headers.get('etag') }
      qc.setQueryData(['config'], now)
      setEdits({}); setSaved(true)
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        // Someone saved first: show what they changed; keep the user's edits for a second look.
        const latest = await loadConfig()
        const changed = FIELDS.map((f) => f.key).filter((k) => String(latest.options[k]) !== String(against.options[k]))
        // The form keeps its old ETag: saving it again is refused again until the user chooses.
        setConflict({ theirs: latest.options, etag: latest.etag, changed })
      } else if (err instanceof ApiError && err.status === 400) {
        const byField = problemsByField(err.message)
        setProblems(byField)
        if (Object.keys(byField).length === 0) setError(err.message)
      } else {
        setError(describeError(err))
      }
    } finally {
      setBusy(false)
    }
  }

  return (
    <Box>
      <Typography variant="h4" gutterBottom>Settings</Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
        The options in force. Saved here, they win over the file and the environment, and every replica picks them up within seconds.
      </Typography>
      {conflict && (
        <Alert severity="warning" sx={{ mb: 2 }} data-testid="conflict"
          action={<Stack direction="row" spacing={1}>
            <Button color="inherit" size="small" data-testid="conflict-discard" onClick={() => {
              setConflict(null); setEdits({}); void qc.invalidateQueries({ queryKey: ['config'] })
            }}>Use theirs</Button>
            <Button color="inherit" size="small" data-testid="conflict-apply" onClick={() => {
              // Only the options this user edited are sent, against their version.
              void save({ options: conflict.theirs, etag: conflict.etag })
            }}>Apply mine on top</Button>
          </Stack>}>
          Someone else changed the settings since this page loaded; nothing of yours was saved.
          {conflict.changed.length > 0 && <> They changed: {conflict.changed.map((k) => `${k} to ${String(conflict.theirs[k])}`).join(', ')}.</>}
        </Alert>
      )}
      {error && <Alert severity="error" sx={{ mb: 2 }} data-testid="error">{error}</Alert>}
      {saved && <Alert severity="success" sx={{ mb: 2 }} data-testid="saved">Saved.</Alert>}
      <Card><CardContent>
        <Box component="form" onSubmit={(e) => { e.preventDefault(); void save(loaded) }}
          sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(280px, 1fr))', gap: 2 }}>
          {FIELDS.map((f) => {
            const problem = problems[f.key]
            const theirs = conflict?.changed.includes(f.key) ? ` (now ${String(conflict.theirs[f.key])})` : ''
            if (f.kind === 'boolean') {
              return (
                <Box key={f.key}>
                  <FormControlLabel label={f.label + theirs}
                    control={<Switch checked={Boolean(value(f.key))} onChange={(e) => edit(f.key, e.target.checked)} inputProps={{ 'aria-describedby': `${f.key}-help` }} data-testid={`setting-${f.key}`} />} />
                  <Typography id={`${f.key}-help`} variant="caption" display="block" color={problem ? 'error' : 'text.secondary'}>{problem ?? f.help}</Typography>
                </Box>
              )
            }
            return (
              <TextField key={f.key} label={f.label + theirs} value={String(value(f.key))} select={f.kind === 'strategy'}
                type={f.kind === 'number' ? 'number' : undefined} onChange={(e) => edit(f.key, e.target.value)}
                error={Boolean(problem)} helperText={problem ?? f.help} inputProps={{ 'data-testid': `setting-${f.key}` }}
                id={`setting-${f.key}`}>
                {f.kind === 'strategy' && STRATEGIES.map((s) => <MenuItem key={s} value={s}>{s}</MenuItem>)}
              </TextField>
            )
          })}
          <Stack direction="row" spacing={2} sx={{ gridColumn: '1 / -1' }}>
            <Button type="submit" variant="contained" disabled={busy || changedKeys.length === 0} data-testid="settings-save">
              Save{changedKeys.length ? ` ${changedKeys.length} change${changedKeys.length === 1 ? '' : 's'}` : ''}
            </Button>
            <Button disabled={busy || changedKeys.length === 0} onClick={() => { setEdits({}); setProblems({}) }}>Undo changes</Button>
          </Stack>
        </Box>
      </CardContent></Card>
    </Box>
  )
}
