// One node: conditions, labels and taints (add/remove, validated as the API validates), cordon with
// a reason, uncordon, drain with its options, a dry-run preview and live progress from its events.
import { useEffect, useRef, useState } from 'react'
import { Link as RouterLink, useParams } from 'react-router-dom'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import {
  Alert, Box, Breadcrumbs, Button, Card, CardContent, CardHeader, Checkbox, Chip, Dialog, DialogActions, DialogContent, DialogTitle,
  FormControlLabel, Grid, LinearProgress, Link, MenuItem, Stack, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography,
} from '@mui/material'
import { effectProblem, isSystemManagedKey, keyProblem, TAINT_EFFECTS, valueProblem } from '../../shared/validation'
import { api, describeError, enc, followEvents, type DrainEvent, type DrainResult, type DrainStatus, type NodeDetail, type Node } from '../api'
import { Bytes, Cores } from '../Readable.tsx'
import { phaseColor, UsageBar } from './Nodes.tsx'

type Detail = NodeDetail & Pick<Node, 'cordon'>

export default function NodePage() {
  const name = useParams().name ?? ''
  const qc = useQueryClient()
  const detail = useQuery({ queryKey: ['node', name], queryFn: () => api<Detail>(`/nodes/${enc(name)}`), refetchInterval: 5_000 })
  const [dialog, setDialog] = useState<null | 'label' | 'taint' | 'cordon' | 'drain'>(null)
  const [notice, setNotice] = useState<{ severity: 'success' | 'error'; text: string } | null>(null)
  const [drainRunning, setDrainRunning] = useState(0)

  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['node', name] })
    void qc.invalidateQueries({ queryKey: ['nodes'] })
  }
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
      setNotice({ severity: 'success', text: what })
      refresh()
      return true
    } catch (err) {
      setNotice({ severity: 'error', text: describeError(err) })
      return false
    }
  }

  const d = detail.data
  return (
    <Box>
      <Breadcrumbs sx={{ mb: 1 }}>
        <Link component={RouterLink} to="/nodes">Cluster Nodes</Link>
        <Typography color="text.primary">{name}</Typography>
      </Breadcrumbs>
      {detail.error && <Alert severity="error" data-testid="error">{describeError(detail.error)}</Alert>}
      {detail.isLoading && <LinearProgress />}
      {notice && <Alert severity={notice.severity} sx={{ mb: 2 }} onClose={() => setNotice(null)} data-testid="notice">{notice.text}</Alert>}
      {d && <>
        <Stack direction="row" spacing={2} alignItems="center" sx={{ mb: 2, flexWrap: 'wrap' }}>
          <Typography variant="h4" data-testid="node-name">{d.name}</Typography>
          <Chip label={d.status.phase} color={phaseColor(d.status.phase)} data-testid="node-phase" />
          <Chip label={d.unschedulable ? `Cordoned${d.cordon?.reason ? `: ${d.cordon.reason}` : ''}` : 'Schedulable'} color={d.unschedulable ? 'warning' : 'default'} variant="outlined" data-testid="node-scheduling" />
          {d.roles.map((r) => <Chip key={r} label={r} size="small" />)}
          <Box sx={{ flexGrow: 1 }} />
          {d.unschedulable
            ? <Button variant="outlined" onClick={() => act(`${name} uncordoned`, () => api(`/nodes/${enc(name)}/uncordon`, { method: 'POST' }))} data-testid="uncordon">Uncordon</Button>
            : <Button variant="outlined" onClick={() => setDialog('cordon')} data-testid="cordon">Cordon</Button>}
          <Button variant="contained" color="warning" onClick={() => setDialog('drain')} data-testid="drain">Drain</Button>
        </Stack>
        <Grid container spacing={2}>
          <Grid item xs={12} md={6}>
            <Card><CardHeader title="Resources" /><CardContent>
              <Typography variant="body2">CPU: <Cores value={d.allocatable.cpu} /> allocatable of <Cores value={d.capacity.cpu} unit={false} />; <Cores value={d.allocated.cpu} unit={false} /> requested</Typography>
              <UsageBar percent={d.usage?.cpu_percent} />
              <Typography variant="body2" sx={{ mt: 1 }}>Memory: <Bytes value={d.allocatable.memory} /> allocatable of <Bytes value={d.capacity.memory} />; <Bytes value={d.allocated.memory} /> requested</Typography>
              <UsageBar percent={d.usage?.memory_percent} />
              <Typography variant="body2" sx={{ mt: 1 }}>{d.pods} pods, {d.sessions} sessions · age {d.age} · {d.node_info.kubeletVersion} · {d.node_info.osImage}</Typography>
              <Link component={RouterLink} to={`/resources?node=${enc(name)}`}>Usage over time</Link>
            </CardContent></Card>
          </Grid>
          <Grid item xs={12} md={6}>
            <Card><CardHeader title="Conditions" /><CardContent>
              <Table size="small" data-testid="conditions"><TableHead><TableRow><TableCell>Type</TableCell><TableCell>Status</TableCell><TableCell>Reason / message</TableCell></TableRow></TableHead>
                <TableBody>{d.conditions.map((c) => {
                  const bad = c.type === 'Ready' ? c.status !== 'True' : c.status === 'True'
                  return (
                    <TableRow key={c.type}>
                      <TableCell>{c.type}</TableCell>
                      <TableCell sx={{ color: bad ? 'error.main' : 'success.main' }}>{c.status}</TableCell>
                      <TableCell>{c.reason}{c.message ? `: ${c.message}` : ''}</TableCell>
                    </TableRow>
                  )
                })}</TableBody></Table>
            </CardContent></Card>
          </Grid>
          <Grid item xs={12} md={6}>
            <Card><CardHeader title={`Labels (${Object.keys(d.labels).length})`} action={<Button onClick={() => setDialog('label')} data-testid="add-label">Add label</Button>} />
              <CardContent sx={{ display: 'flex', flexWrap: 'wrap', gap: 1 }} data-testid="labels">
                {Object.entries(d.labels).map(([k, v]) => (
                  <Chip key={k} size="small" label={v ? `${k}=${v}` : k} data-label={k}
                    onDelete={isSystemManagedKey(k) ? undefined : () => act(`Label ${k} removed`, () => api(`/nodes/${enc(name)}/labels/${enc(k)}`, { method: 'DELETE' }))} />
                ))}
              </CardContent></Card>
          </Grid>
          <Grid item xs={12} md={6}>
            <Card><CardHeader title={`Taints (${d.taints.length})`} action={<Button onClick={() => setDialog('taint')} data-testid="add-taint">Add taint</Button>} />
              <CardContent sx={{ display: 'flex', flexWrap: 'wrap', gap: 1 }} data-testid="taints">
                {d.taints.length === 0 && <Typography variant="body2" color="text.secondary">No taints</Typography>}
                {d.taints.map((t) => (
                  <Chip key={`${t.key}:${t.effect}`} size="small" color={t.effect === 'NoExecute' ? 'error' : 'default'} label={`${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`} data-taint={t.key}
                    onDelete={isSystemManagedKey(t.key) ? undefined : () => act(`Taint ${t.key}:${t.effect} removed`, () => api(`/nodes/${enc(name)}/taints/${enc(t.key)}?effect=${enc(t.effect)}`, { method: 'DELETE' }))} />
                ))}
              </CardContent></Card>
          </Grid>
          <Grid item xs={12}>
            <DrainProgress node={name} trigger={drainRunning} onFinished={refresh} />
          </Grid>
          <Grid item xs={12}>
            <Card><CardHeader title={`Pods (${d.pod_list.length})`} /><CardContent sx={{ maxHeight: 320, overflow: 'auto' }}>
              <Table size="small"><TableBody>{d.pod_list.map((p) => (
                <TableRow key={`${p.namespace}/${p.name}`}>
                  <TableCell>{p.namespace}/{p.name}</TableCell><TableCell>{p.phase}{p.terminating ? ' (terminating)' : ''}</TableCell><TableCell>{p.session ? 'session' : ''}</TableCell>
                </TableRow>))}</TableBody></Table>
            </CardContent></Card>
          </Grid>
        </Grid>
        {dialog === 'label' && <LabelDialog node={d} onClose={() => setDialog(null)} act={act} />}
        {dialog === 'taint' && <TaintDialog node={d} onClose={() => setDialog(null)} act={act} />}
        {dialog === 'cordon' && <CordonDialog node={d} onClose={() => setDialog(null)} act={act} />}
        {dialog === 'drain' && <DrainDialog node={d} onClose={() => setDialog(null)} onStarted={() => { setDialog(null); setDrainRunning((x) => x + 1) }} />}
      </>}
    </Box>
  )
}

type Act = (what: string, fn: () => Promise<unknown>) => Promise<boolean>

function ApiProblem({ error }: { error: string | null }) {
  return error ? <Alert severity="error" sx={{ mt: 1 }} data-testid="dialog-error">{error}</Alert> : null
}

function LabelDialog({ node, onClose, act }: { node: Detail; onClose: () => void; act: Act }) {
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const [force, setForce] = useState(false)
  const [apiError, setApiError] = useState<string | null>(null)
  const keyError = key ? keyProblem(key) : null
  const valueError = valueProblem(value)
  const system = key !== '' && isSystemManagedKey(key)
  const submit = async () => {
    setApiError(null)
    try {
      await api(`/nodes/${enc(node.name)}/labels`, { method: 'PUT', json: { key, value, ...(force ? { force } : {}) } })
      await act(`Label ${key}=${value} set on ${node.name}`, async () => {})
      onClose()
    } catch (err) { setApiError(describeError(err)) }
  }
  return (
    <Dialog open onClose={onClose} maxWidth="sm" fullWidth>
      <DialogTitle>Add label to {node.name}</DialogTitle>
      <DialogContent>
        <TextField label="Key" value={key} onChange={(e) => setKey(e.target.value)} fullWidth margin="dense" error={!!keyError} helperText={keyError ?? 'e.g. example.com/pool'} inputProps={{ 'data-testid': 'label-key' }} />
        <TextField label="Value" value={value} onChange={(e) => setValue(e.target.value)} fullWidth margin="dense" error={!!valueError} helperText={valueError ?? ' '} inputProps={{ 'data-testid': 'label-value' }} />
        {system && <FormControlLabel control={<Checkbox checked={force} onChange={(e) => setForce(e.target.checked)} />} label="This key is managed by Kubernetes: change it anyway (force)" />}
        <ApiProblem error={apiError} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={!key || !!keyError || !!valueError} data-testid="label-save">Save</Button>
      </DialogActions>
    </Dialog>
  )
}

function TaintDialog({ node, onClose, act }: { node: Detail; onClose: () => void; act: Act }) {
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const [effect, setEffect] = useState('NoSchedule')
  const [confirm, setConfirm] = useState(false)
  const [apiError, setApiError] = useState<string | null>(null)
  const keyError = key ? keyProblem(key) : null
  const valueError = value ? valueProblem(value) : null
  const effectError = effectProblem(effect)
  const disruptive = effect === 'NoExecute'
  const submit = async () => {
    setApiError(null)
    try {
      const r = await api<{ affected_pods?: number }>(`/nodes/${enc(node.name)}/taints`, { method: 'POST', json: { key, value: value || undefined, effect } })
      await act(`Taint ${key}${value ? `=${value}` : ''}:${effect} set on ${node.name}${r.affected_pods !== undefined ? `; ${r.affected_pods} pod(s) will be evicted` : ''}`, async () => {})
      onClose()
    } catch (err) { setApiError(describeError(err)) }
  }
  return (
    <Dialog open onClose={onClose} maxWidth="sm" fullWidth>
      <DialogTitle>Add taint to {node.name}</DialogTitle>
      <DialogContent>
        <TextField label="Key" value={key} onChange={(e) => setKey(e.target.value)} fullWidth margin="dense" error={!!keyError} helperText={keyError ?? ' '} inputProps={{ 'data-testid': 'taint-key' }} />
        <TextField label="Value (optional)" value={value} onChange={(e) => setValue(e.target.value)} fullWidth margin="dense" error={!!valueError} helperText={valueError ?? ' '} inputProps={{ 'data-testid': 'taint-value' }} />
        <TextField select label="Effect" value={effect} onChange={(e) => setEffect(e.target.value)} fullWidth margin="dense" error={!!effectError} helperText={effectError ?? ' '} inputProps={{ 'data-testid': 'taint-effect' }}>
          {TAINT_EFFECTS.map((e) => <MenuItem key={e} value={e}>{e}</MenuItem>)}
        </TextField>
        {disruptive && (
          <Alert severity="warning" sx={{ mt: 1 }}>
            NoExecute evicts every pod on {node.name} that does not tolerate it: up to {node.sessions} running session{node.sessions === 1 ? '' : 's'} and {node.pods} pods.
            <FormControlLabel control={<Checkbox checked={confirm} onChange={(e) => setConfirm(e.target.checked)} data-testid="taint-confirm" />} label={`I understand ${node.sessions} session(s) may be cut off`} />
          </Alert>
        )}
        <ApiProblem error={apiError} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={!key || !!keyError || !!valueError || !!effectError || (disruptive && !confirm)} data-testid="taint-save">Save</Button>
      </DialogActions>
    </Dialog>
  )
}

function CordonDialog({ node, onClose, act }: { node: Detail; onClose: () => void; act: Act }) {
  const [reason, setReason] = useState('')
  return (
    <Dialog open onClose={onClose} maxWidth="sm" fullWidth>
      <DialogTitle>Cordon {node.name}</DialogTitle>
      <DialogContent>
        <Typography>No new pods or sessions will be scheduled on {node.name}. Its {node.sessions} running session{node.sessions === 1 ? '' : 's'} keep running.</Typography>
        <TextField label="Reason (kept on the node, shown to other admins)" value={reason} onChange={(e) => setReason(e.target.value)} fullWidth margin="normal" inputProps={{ 'data-testid': 'cordon-reason' }} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" data-testid="cordon-confirm" onClick={async () => {
          if (await act(`${node.name} cordoned${reason ? `: ${reason}` : ''}`, () => api(`/nodes/${enc(node.name)}/cordon`, { method: 'POST', json: reason ? { reason } : {} }))) onClose()
        }}>Cordon</Button>
      </DialogActions>
    </Dialog>
  )
}

interface DrainForm {
  grace_period_seconds: string
  timeout_seconds: string
  force: boolean
  ignore_daemonsets: boolean
  delete_emptydir_data: boolean
  disable_eviction: boolean
  pod_selector: string
}

function drainBody(f: DrainForm) {
  return {
    ...(f.grace_period_seconds !== '' ? { grace_period_seconds: Number(f.grace_period_seconds) } : {}),
    ...(f.timeout_seconds !== '' ? { timeout_seconds: Number(f.timeout_seconds) } : {}),
    force: f.force, ignore_daemonsets: f.ignore_daemonsets, delete_emptydir_data: f.delete_emptydir_data, disable_eviction: f.disable_eviction,
    ...(f.pod_selector ? { pod_selector: f.pod_selector } : {}),
  }
}

function DrainDialog({ node, onClose, onStarted }: { node: Detail; onClose: () => void; onStarted: () => void }) {
  const [f, setF] = useState<DrainForm>({ grace_period_seconds: '', timeout_seconds: '300', force: false, ignore_daemonsets: true, delete_emptydir_data: false, disable_eviction: false, pod_selector: '' })
  const [preview, setPreview] = useState<DrainResult | null>(null)
  const [busy, setBusy] = useState(false)
  const [apiError, setApiError] = useState<string | null>(null)
  const [confirm, setConfirm] = useState(false)
  const set = <K extends keyof DrainForm>(k: K, v: DrainForm[K]) => { setF((x) => ({ ...x, [k]: v })); setPreview(null); setConfirm(false) }
  const sessions = preview ? preview.sessions_disrupted : node.sessions
  const runPreview = async () => {
    setBusy(true); setApiError(null)
    try { setPreview(await api<DrainResult>(`/nodes/${enc(node.name)}/drain`, { method: 'POST', json: { ...drainBody(f), dry_run: true } })) } catch (err) { setApiError(describeError(err)) }
    setBusy(false)
  }
  const start = async () => {
    setBusy(true); setApiError(null)
    try {
      await api(`/nodes/${enc(node.name)}/drain`, { method: 'POST', json: { ...drainBody(f), wait: false } })
      onStarted()
    } catch (err) { setApiError(describeError(err)) }
    setBusy(false)
  }
  const check = (k: 'force' | 'ignore_daemonsets' | 'delete_emptydir_data' | 'disable_eviction', label: string) => (
    <FormControlLabel control={<Checkbox checked={f[k]} onChange={(e) => set(k, e.target.checked)} inputProps={{ 'aria-label': k }} />} label={label} />
  )
  return (
    <Dialog open onClose={onClose} maxWidth="md" fullWidth>
      <DialogTitle>Drain {node.name}</DialogTitle>
      <DialogContent>
        <Typography variant="body2" gutterBottom>Cordons the node, then evicts its pods as kubectl drain does, respecting PodDisruptionBudgets.</Typography>
        <Stack direction="row" spacing={2} sx={{ my: 1 }}>
          <TextField label="Grace period (s, empty: each pod's own)" value={f.grace_period_seconds} onChange={(e) => set('grace_period_seconds', e.target.value.replace(/\D/g, ''))} size="small" inputProps={{ 'data-testid': 'drain-grace' }} />
          <TextField label="Timeout (s)" value={f.timeout_seconds} onChange={(e) => set('timeout_seconds', e.target.value.replace(/\D/g, ''))} size="small" />
          <TextField label="Pod selector" value={f.pod_selector} onChange={(e) => set('pod_selector', e.target.value)} size="small" />
        </Stack>
        <Box>
          {check('ignore_daemonsets', 'Ignore DaemonSet pods')}
          {check('delete_emptydir_data', 'Delete emptyDir data')}
          {check('force', 'Force (pods without a controller)')}
          {check('disable_eviction', 'Delete instead of evict (skips PDBs)')}
        </Box>
        <Button onClick={runPreview} disabled={busy} data-testid="drain-preview">Preview (dry run)</Button>
        {busy && <LinearProgress sx={{ my: 1 }} />}
        {preview && (
          <Box data-testid="drain-preview-result" sx={{ mt: 1 }}>
            <Alert severity={preview.refused?.length ? 'error' : 'info'}>{preview.message}</Alert>
            <Typography variant="subtitle2" sx={{ mt: 1 }}>Would evict ({preview.would_evict?.length ?? 0}); sessions disrupted: {preview.sessions_disrupted}</Typography>
            {preview.would_evict?.map((p) => <Typography key={p.pod} variant="body2">• {p.pod}: {p.reason}</Typography>)}
            {!!preview.refused?.length && <Typography variant="subtitle2" sx={{ mt: 1 }} color="error">Blocks the drain ({preview.refused.length})</Typography>}
            {preview.refused?.map((p) => <Typography key={p.pod} variant="body2" color="error">• {p.pod}: {p.reason}</Typography>)}
            {!!preview.skipped.length && <Typography variant="subtitle2" sx={{ mt: 1 }}>Left in place ({preview.skipped.length})</Typography>}
            {preview.skipped.map((p) => <Typography key={p.pod} variant="body2" color="text.secondary">• {p.pod}: {p.reason}</Typography>)}
            {preview.warnings.map((w) => <Alert key={w} severity="warning" sx={{ mt: 1 }}>{w}</Alert>)}
          </Box>
        )}
        <Alert severity={sessions > 0 ? 'warning' : 'info'} sx={{ mt: 2 }} data-testid="drain-sessions">
          This drain disconnects {sessions} session{sessions === 1 ? '' : 's'} on {node.name}{preview ? '' : ' (running now; preview for the exact count)'}.
          <FormControlLabel control={<Checkbox checked={confirm} onChange={(e) => setConfirm(e.target.checked)} data-testid="drain-confirm" />} label={`Drain ${node.name}, disrupting ${sessions} session(s)`} />
        </Alert>
        <ApiProblem error={apiError} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" color="warning" onClick={start} disabled={busy || !confirm} data-testid="drain-start">Drain</Button>
      </DialogActions>
    </Dialog>
  )
}

/** The latest drain of the node, live from GET .../drain/events (fetch streaming: it carries the token). */
function DrainProgress({ node, trigger, onFinished }: { node: string; trigger: number; onFinished: () => void }) {
  const [status, setStatus] = useState<DrainStatus | null>(null)
  const [events, setEvents] = useState<DrainEvent[]>([])
  const [error, setError] = useState<string | null>(null)
  const [connected, setConnected] = useState(true)
  const finished = useRef(onFinished)
  finished.current = onFinished
  useEffect(() => {
    const ctl = new AbortController()
    setEvents([]); setError(null)
    let stop = false
    const follow = async () => {
      const s = await api<DrainStatus>(`/nodes/${enc(node)}/drain`, { signal: ctl.signal })
      setStatus(s)
      if (s.phase !== 'running' && trigger === 0) return
      await followEvents(`/nodes/${enc(node)}/drain/events`, (type, data) => {
        if (stop) return
        if (type === 'status') { setStatus(data as DrainStatus); return }
        const e = data as DrainEvent
        setEvents((x) => [...x.slice(-199), e])
        setStatus((s) => s && { ...s, phase: e.phase ?? (e.type === 'finished' ? s.phase : 'running'), total: e.total, sessions_total: e.sessions_total, sessions_disrupted: e.sessions_disrupted, message: e.message ?? s.message, evicted: s.evicted })
        if (e.type === 'finished') {
          finished.current()
          void api<DrainStatus>(`/nodes/${enc(node)}/drain`).then(setStatus).catch(() => {})
        }
      }, ctl.signal, (up) => setConnected(up))
    }
    follow().catch((err) => { if ((err as Error).name !== 'AbortError') setError(describeError(err)) })
    return () => { stop = true; ctl.abort() }
  }, [node, trigger])
  if (error) return <Alert severity="error">Drain progress: {error}</Alert>
  if (!status || status.phase === 'none') return null
  const last = events[events.length - 1]
  const evicted = last?.evicted ?? status.evicted.length
  const total = last?.total ?? status.total
  const pct = total > 0 ? (100 * evicted) / total : status.phase === 'succeeded' ? 100 : 0
  return (
    <Card data-testid="drain-progress"><CardHeader title={`Drain: ${status.phase}`} subheader={status.message} />
      <CardContent>
        {!connected && <Alert severity="warning" sx={{ mb: 1 }} data-testid="drain-reconnecting">Connection lost: reconnecting; progress resumes where it stopped.</Alert>}
        <LinearProgress variant="determinate" value={pct} color={status.phase === 'succeeded' ? 'success' : status.phase === 'running' ? 'primary' : 'error'} />
        <Typography variant="body2" sx={{ mt: 1 }} data-testid="drain-counts">
          {evicted} of {total} pods evicted · sessions disrupted {last?.sessions_disrupted ?? status.sessions_disrupted} of {last?.sessions_total ?? status.sessions_total}
        </Typography>
        {status.pending.map((p) => <Typography key={p.pod} variant="body2" color="warning.main">waiting: {p.pod}: {p.reason}{p.pdb ? ` (PDB ${p.pdb})` : ''}</Typography>)}
        <Box sx={{ maxHeight: 200, overflow: 'auto', mt: 1, fontFamily: 'monospace', fontSize: 12 }} data-testid="drain-events">
          {events.map((e) => <div key={e.id}>{new Date(e.at).toLocaleTimeString()} {e.type}{e.pod ? ` ${e.pod}` : ''}{e.reason ? `: ${e.reason}` : ''}{e.message ? `: ${e.message}` : ''}</div>)}
        </Box>
      </CardContent>
    </Card>
  )
}
