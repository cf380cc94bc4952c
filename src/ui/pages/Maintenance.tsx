// Maintenance: the plans with their state; a form (nodes or a label selector, reason, start,
// session deadline, policy, max unavailable) with the fit check shown before anything starts; each
// plan's progress per node, live over Server-Sent Events, with the sessions still waited for and
// whose they are; cancel and complete, each confirmed.
import { useEffect, useMemo, useState } from 'react'
import { useSearchParams } from 'react-router-dom'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import {
  Alert, Autocomplete, Box, Button, Card, CardContent, CardHeader, Checkbox, Chip, Dialog, DialogActions, DialogContent, DialogTitle,
  FormControlLabel, LinearProgress, MenuItem, Stack, Table, TableBody, TableCell, TableHead, TableRow, TextField, ToggleButton,
  ToggleButtonGroup, Typography,
} from '@mui/material'
import { ApiError, api, describeError, enc, fetchNodes, followEvents } from '../api'
import type { Static } from 'typebox'
import type { Maintenance, MaintenanceRequest } from '../../schemas/maintenance.js'

type Plan = Static<typeof Maintenance>
type Unplaced = NonNullable<Plan['fit']>['unplaced'][number]

const ACTIVE = ['scheduled', 'running']
const stateColor = (s: string) => (['succeeded', 'completed', 'drained'].includes(s) ? 'success'
  : ['failed'].includes(s) ? 'error' : ['cancelled'].includes(s) ? 'warning' : 'info') as 'success' | 'error' | 'warning' | 'info'
const when = (t: string | null | undefined) => (t ? new Date(t).toLocaleString() : '—')
/** A datetime-local input's value as an ISO time (it is local time), empty as undefined. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined)
/**
 * The plan's checks and its fit, live as the form changes: POST P/maintenance with dry_run makes
 * nothing and answers which nodes it would take and which pods would find no room (whose sessions).
 */
function useLiveCheck(body: MaintenanceRequest | null) {
  const [check, setCheck] = useState<{ nodes: string[]; fit: Plan['fit']; error?: string } | null>(null)
  const key = JSON.stringify(body)
  useEffect(() => {
    setCheck(null)
    if (!body) return
    const ctl = new AbortController()
    const timer = setTimeout(async () => {
      try {
        setCheck(await api<{ nodes: string[]; fit: Plan['fit'] }>('/maintenance', { method: 'POST', signal: ctl.signal, json: { ...body, dry_run: true } }))
      } catch (err) {
        if ((err as Error).name !== 'AbortError') setCheck({ nodes: [], fit: null, error: describeError(err) })
      }
    }, 400)
    return () => { clearTimeout(timer); ctl.abort() }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])
  return check
}

function UnplacedList({ unplaced }: { unplaced: Unplaced[] }) {
  return (
    <Box component="ul" sx={{ m: 0, pl: 3 }}>
      {unplaced.slice(0, 50).map((u) => (
        <li key={u.pod}>{u.pod} on {u.node}{u.session_user ? <> — <b>session of {u.session_user}</b></> : ''}: {u.reason}</li>
      ))}
      {unplaced.length > 50 && <li>and {unplaced.length - 50} more</li>}
    </Box>
  )
}

/** The plan form; `fixedNodes` (from the Nodes page's selection) replaces the node picker. */
export function MaintenanceForm({ fixedNodes, onCreated, onCancel }: { fixedNodes?: string[]; onCreated: (plan: Plan) => void; onCancel?: () => void }) {
  const nodesQuery = useQuery({ queryKey: ['nodes'], queryFn: fetchNodes, enabled: !fixedNodes })
  const [by, setBy] = useState<'names' | 'selector'>('names')
  const [picked, setPicked] = useState<string[]>([])
  const [selector, setSelector] = useState('')
  const [reason, setReason] = useState('')
  const [startAt, setStartAt] = useState('')
  const [deadline, setDeadline] = useState('')
  const [policy, setPolicy] = useState<'wait' | 'hibernate' | 'evict'>('wait')
  const [maxUnavailable, setMaxUnavailable] = useState('1')
  const [force, setForce] = useState(false)
  const [emptyDir, setEmptyDir] = useState(true)
  const [refusal, setRefusal] = useState<{ message: string; unplaced: Unplaced[] } | null>(null)
  const [busy, setBusy] = useState(false)

  const drain = useMemo(() => ({ force, delete_emptydir_data: emptyDir }), [force, emptyDir])
  const request = (forceFit: boolean): MaintenanceRequest => ({
    reason, session_policy: policy, max_unavailable: Number(maxUnavailable) || 1, drain, force: forceFit,
    ...(fixedNodes ? { nodes: fixedNodes } : by === 'names' ? { nodes: picked } : { node_selector: selector.trim() }),
    ...(startAt ? { start_at: isoOf(startAt) } : {}),
    ...(deadline ? { session_deadline: isoOf(deadline) } : {}),
  })
  const chosen = fixedNodes ? fixedNodes.length > 0 : by === 'names' ? picked.length > 0 : selector.trim() !== ''
  // Checked before the reason is typed: a placeholder stands in for it.
  const live = useLiveCheck(chosen ? { ...request(false), reason: reason.trim() || 'checking' } : null)
  const fit = live?.fit

  const submit = async (forceFit: boolean) => {
    setBusy(true); setRefusal(null)
    try {
      onCreated(await api<Plan>('/maintenance', { method: 'POST', json: request(forceFit) }))
    } catch (err) {
      const details = err instanceof ApiError ? err.details as { fit?: Plan['fit'] } | undefined : undefined
      setRefusal({ message: describeError(err), unplaced: details?.fit?.unplaced ?? [] })
    } finally {
      setBusy(false)
    }
  }

  return (
    <Stack spacing={2} data-testid="maintenance-form">
      {fixedNodes ? (
        <Box>
          <Typography variant="subtitle2">{fixedNodes.length} node{fixedNodes.length === 1 ? '' : 's'}:</Typography>
          <Box component="ul" sx={{ m: 0, pl: 3, maxHeight: 160, overflow: 'auto' }} data-testid="plan-nodes">
            {fixedNodes.map((n) => <li key={n}>{n}</li>)}
          </Box>
        </Box>
      ) : <>
        <ToggleButtonGroup size="small" exclusive value={by} onChange={(_e, v) => v && setBy(v)} aria-label="Choose nodes by">
          <ToggleButton value="names">Pick nodes</ToggleButton>
          <ToggleButton value="selector">Label selector</ToggleButton>
        </ToggleButtonGroup>
        {by === 'names'
          ? <Autocomplete multiple options={(nodesQuery.data ?? []).map((n) => n.name)} value={picked} onChange={(_e, v) => setPicked(v)}
            renderInput={(p) => <TextField {...p} label="Nodes" inputProps={{ ...p.inputProps, 'data-testid': 'plan-node-picker' }} />} />
          : <TextField label="Label selector" value={selector} onChange={(e) => setSelector(e.target.value)} placeholder="pool=desktops"
            inputProps={{ 'data-testid': 'plan-selector' }}
            helperText={live && !live.error ? `${live.nodes.length} node(s): ${live.nodes.slice(0, 10).join(', ')}${live.nodes.length > 10 ? ', ...' : ''}` : ' '} />}
      </>}
      <TextField label="Reason (kept on each node and in its Events)" value={reason} onChange={(e) => setReason(e.target.value)} required inputProps={{ 'data-testid': 'plan-reason' }} />
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={2}>
        <TextField label="Start" type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} InputLabelProps={{ shrink: true }} helperText="Empty: now" inputProps={{ step: 1, 'data-testid': 'plan-start' }} />
        <TextField label="Session deadline" type="datetime-local" value={deadline} onChange={(e) => setDeadline(e.target.value)} InputLabelProps={{ shrink: true }}
          helperText={policy === 'wait' ? 'Optional: a node whose sessions still run then fails' : 'Required: then sessions are ' + (policy === 'evict' ? 'evicted' : 'hibernated')} inputProps={{ step: 1, 'data-testid': 'plan-deadline' }} />
        <TextField select label="Sessions" value={policy} onChange={(e) => setPolicy(e.target.value as typeof policy)} sx={{ minWidth: 220 }} SelectProps={{ SelectDisplayProps: { 'data-testid': 'plan-policy' } as object }}>
          <MenuItem value="wait">Wait for them to end</MenuItem>
          <MenuItem value="hibernate">Hibernate at the deadline</MenuItem>
          <MenuItem value="evict">Evict at the deadline</MenuItem>
        </TextField>
        <TextField label="Max unavailable" type="number" value={maxUnavailable} onChange={(e) => setMaxUnavailable(e.target.value)} inputProps={{ min: 1, 'data-testid': 'plan-max-unavailable' }} sx={{ width: 160 }} />
      </Stack>
      <Stack direction="row" spacing={2}>
        <FormControlLabel control={<Checkbox checked={emptyDir} onChange={(e) => setEmptyDir(e.target.checked)} />} label="Evict pods with emptyDir data (sessions have it)" />
        <FormControlLabel control={<Checkbox checked={force} onChange={(e) => setForce(e.target.checked)} />} label="Also pods without a controller" />
      </Stack>
      <Box data-testid="fit-check" aria-live="polite">
        {!chosen ? <Typography variant="body2" color="text.secondary">Choose nodes to see whether their pods find room elsewhere.</Typography>
          : !live ? <LinearProgress aria-label="checking the plan" />
            : live.error ? <Alert severity="error" data-testid="check-problem">{live.error}</Alert>
              : !fit || fit.unplaced.length === 0 ? <Alert severity="success">Fit check: the {fit?.pods ?? 0} pod(s) that would move find room on the {fit?.remaining_count ?? fit?.remaining_nodes.length ?? 0} node(s) that stay schedulable.</Alert>
                : <Alert severity="warning" data-testid="fit-warning">Fit check: {fit.unplaced_count ?? fit.unplaced.length} of {fit.pods} pod(s) would find no room
                  {fit.unplaced.some((u) => u.session_user) ? `, sessions of ${[...new Set(fit.unplaced.map((u) => u.session_user).filter(Boolean))].join(', ')}` : ''}:
                  <UnplacedList unplaced={fit.unplaced} /></Alert>}
      </Box>
      {refusal && (
        <Alert severity="error" data-testid="plan-refused">
          {refusal.message}
          {refusal.unplaced.length > 0 && <UnplacedList unplaced={refusal.unplaced} />}
        </Alert>
      )}
      <Stack direction="row" spacing={2}>
        <Button variant="contained" color="warning" disabled={busy || !reason.trim() || !chosen} onClick={() => submit(false)} data-testid="plan-create">
          Start maintenance
        </Button>
        {(refusal?.unplaced.length || fit?.unplaced.length) ? (
          <Button variant="outlined" color="warning" disabled={busy || !reason.trim()} onClick={() => submit(true)} data-testid="plan-create-force">Start anyway (pods without room stay Pending)</Button>
        ) : null}
        {onCancel && <Button onClick={onCancel}>Cancel</Button>}
      </Stack>
    </Stack>
  )
}

function Confirm({ title, text, action, onConfirm, onClose }: { title: string; text: string; action: string; onConfirm: () => Promise<void>; onClose: () => void }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  return (
    <Dialog open onClose={onClose} aria-labelledby="confirm-title">
      <DialogTitle id="confirm-title">{title}</DialogTitle>
      <DialogContent><Typography>{text}</Typography>{error && <Alert severity="error" sx={{ mt: 2 }}>{error}</Alert>}</DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Back</Button>
        <Button variant="contained" color="warning" disabled={busy} data-testid="confirm" onClick={async () => {
          setBusy(true)
          try { await onConfirm(); onClose() } catch (err) { setError(describeError(err)) } finally { setBusy(false) }
        }}>{action}</Button>
      </DialogActions>
    </Dialog>
  )
}

/** One plan, followed live: its stream sends the plan, then each step; every step reloads the plan. */
function PlanDetail({ id }: { id: string }) {
  const qc = useQueryClient()
  const [plan, setPlan] = useState<Plan | null>(null)
  const [connected, setConnected] = useState(true)
  const [error, setError] = useState<string | null>(null)
  const [confirm, setConfirm] = useState<null | 'cancel' | 'complete'>(null)
  useEffect(() => {
    const ctl = new AbortController()
    setPlan(null); setError(null)
    const reload = () => api<Plan>(`/maintenance/${enc(id)}`, { signal: ctl.signal }).then(setPlan).catch(() => {})
    followEvents(`/maintenance/${enc(id)}/events`, (type, data) => {
      if (type === 'status') setPlan(data as Plan)
      else void reload()
      if (type === 'finished') void qc.invalidateQueries({ queryKey: ['maintenance'] })
    }, ctl.signal, setConnected).catch((err) => { if ((err as Error).name !== 'AbortError') setError(describeError(err)) })
    return () => ctl.abort()
  }, [id, qc])
  if (error) return <Alert severity="error">Plan {id}: {error}</Alert>
  if (!plan) return <LinearProgress aria-label="loading the plan" />
  const act = async (what: 'cancel' | 'complete') => {
    const p = what === 'cancel'
      ? await api<Plan>(`/maintenance/${enc(id)}`, { method: 'DELETE' })
      : await api<Plan>(`/maintenance/${enc(id)}/complete`, { method: 'POST' })
    setPlan(p)
    void qc.invalidateQueries({ queryKey: ['maintenance'] })
  }
  const done = plan.nodes.filter((n) => ['drained', 'failed', 'cancelled'].includes(n.state)).length
  return (
    <Card data-testid="plan-detail" data-plan={plan.id} data-state={plan.state}>
      <CardHeader title={<>Plan {plan.id} <Chip size="small" label={plan.state} color={stateColor(plan.state)} data-testid="plan-state" /></>}
        subheader={`${plan.reason} · by ${plan.created_by} · starts ${when(plan.start_at)} · sessions: ${plan.session_policy}${plan.session_deadline ? ` until ${when(plan.session_deadline)}` : ''} · ${plan.max_unavailable} at a time`}
        action={<Stack direction="row" spacing={1}>
          {ACTIVE.includes(plan.state) && <Button color="warning" variant="outlined" onClick={() => setConfirm('cancel')} data-testid="plan-cancel">Cancel plan</Button>}
          {!ACTIVE.includes(plan.state) && plan.state !== 'completed' && <Button variant="contained" onClick={() => setConfirm('complete')} data-testid="plan-complete">Complete: uncordon</Button>}
        </Stack>} />
      <CardContent>
        {!connected && <Alert severity="warning" sx={{ mb: 1 }}>Connection lost: reconnecting; progress resumes where it stopped.</Alert>}
        <Typography variant="body2" sx={{ mb: 1 }}>{plan.message}</Typography>
        <LinearProgress variant="determinate" value={plan.nodes.length ? (100 * done) / plan.nodes.length : 0} aria-label="nodes done" sx={{ mb: 2 }} />
        <Table size="small" data-testid="plan-nodes-progress">
          <TableHead><TableRow><TableCell>Node</TableCell><TableCell>State</TableCell><TableCell>Sessions waited for</TableCell><TableCell>What happened</TableCell><TableCell>Pods evicted</TableCell></TableRow></TableHead>
          <TableBody>{plan.nodes.map((n) => (
            <TableRow key={n.name} data-node={n.name} data-state={n.state}>
              <TableCell>{n.name}</TableCell>
              <TableCell><Chip size="small" variant="outlined" label={n.state.replaceAll('_', ' ')} color={stateColor(n.state)} /></TableCell>
              <TableCell data-testid="waited-sessions">{n.sessions.length === 0 ? '—' : n.sessions.map((s) => `${s.user ?? '?'} (${s.session ?? s.pod})`).join(', ')}</TableCell>
              <TableCell>{n.message}</TableCell>
              <TableCell>{n.pods_evicted}</TableCell>
            </TableRow>
          ))}</TableBody>
        </Table>
      </CardContent>
      {confirm === 'cancel' && <Confirm title={`Cancel plan ${plan.id}?`} action="Cancel plan" onClose={() => setConfirm(null)} onConfirm={() => act('cancel')}
        text="Nothing more is done. Nodes stay as they are now: cordoned nodes stay cordoned until you complete the plan or uncordon them." />}
      {confirm === 'complete' && <Confirm title={`Complete plan ${plan.id}?`} action="Complete" onClose={() => setConfirm(null)} onConfirm={() => act('complete')}
        text={`The ${plan.nodes.filter((n) => n.cordoned_by_plan).length} node(s) this plan cordoned are uncordoned and their cordon reason cleared: new sessions may go there again.`} />}
    </Card>
  )
}

export default function MaintenancePage() {
  const qc = useQueryClient()
  const [params, setParams] = useSearchParams()
  const open = params.get('plan')
  const plans = useQuery({ queryKey: ['maintenance'], queryFn: () => api<Plan[]>('/maintenance'), refetchInterval: 10_000 })
  const [creating, setCreating] = useState(false)
  return (
    <Box>
      <Typography variant="h4" gutterBottom>Maintenance</Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
        Take nodes out without cutting anyone off: each node is cordoned, its sessions are waited for (or hibernated or evicted at the deadline), then it is drained; a few nodes at a time.
      </Typography>
      {plans.error && <Alert severity="error" sx={{ mb: 2 }} data-testid="error">{describeError(plans.error)}</Alert>}
      {creating ? (
        <Card sx={{ mb: 2 }}><CardHeader title="New maintenance plan" /><CardContent>
          <MaintenanceForm onCancel={() => setCreating(false)} onCreated={(p) => {
            setCreating(false); setParams({ plan: p.id }); void qc.invalidateQueries({ queryKey: ['maintenance'] })
          }} />
        </CardContent></Card>
      ) : <Button variant="contained" sx={{ mb: 2 }} onClick={() => setCreating(true)} data-testid="plan-new">New plan</Button>}
      {open && <Box sx={{ mb: 2 }}><PlanDetail id={open} /></Box>}
      <Card>
        <CardHeader title={`Plans (${plans.data?.length ?? 0})`} />
        {plans.isLoading && <LinearProgress aria-label="loading plans" />}
        <Table size="small" data-testid="plans">
          <TableHead><TableRow><TableCell>Plan</TableCell><TableCell>State</TableCell><TableCell>Reason</TableCell><TableCell>Nodes</TableCell><TableCell>By</TableCell><TableCell>Starts</TableCell></TableRow></TableHead>
          <TableBody>{[...(plans.data ?? [])].reverse().map((p) => (
            <TableRow key={p.id} hover selected={p.id === open} data-plan={p.id}>
              <TableCell><Button size="small" onClick={() => setParams({ plan: p.id })}>{p.id}</Button></TableCell>
              <TableCell><Chip size="small" label={p.state} color={stateColor(p.state)} variant="outlined" /></TableCell>
              <TableCell>{p.reason}</TableCell>
              <TableCell>{p.nodes.length <= 3 ? p.nodes.map((n) => n.name).join(', ') : `${p.nodes.length} nodes`}</TableCell>
              <TableCell>{p.created_by}</TableCell>
              <TableCell>{when(p.start_at)}</TableCell>
            </TableRow>
          ))}</TableBody>
        </Table>
        {plans.data?.length === 0 && <Typography sx={{ p: 2 }} color="text.secondary">No plans yet.</Typography>}
      </Card>
    </Box>
  )
}
