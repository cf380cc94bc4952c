// Node Management: every node in a virtualized, sortable table, filtered as you type by name,
// label and status; select several for a bulk cordon.
import { memo, type ReactNode, startTransition, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { Link as RouterLink, useNavigate } from 'react-router-dom'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useVirtualizer } from '@tanstack/react-virtual'
import {
  Alert, Box, Button, ButtonBase, Card, CardContent, Checkbox, Chip, Dialog, DialogActions, DialogContent, DialogTitle, FormControl, Grid, InputLabel,
  LinearProgress, Link, MenuItem, Select, TextField, Typography,
} from '@mui/material'
import { ApiError, api, describeError, enc, fetchNodes, type ClusterStats, type Node } from '../api'
import { MaintenanceForm } from './Maintenance.tsx'
import NextSession from './NextSession.tsx'
import { Bytes, Cores } from '../Readable.tsx'

type SortKey = 'name' | 'status' | 'roles' | 'schedulable' | 'pods' | 'sessions' | 'cpu' | 'memory' | 'age'
type StatusFilter = 'all' | 'Ready' | 'NotReady' | 'Unknown' | 'cordoned' | 'schedulable'

const COLUMNS: { key: SortKey | null; label: string; width: string }[] = [
  { key: null, label: '', width: '44px' },
  { key: 'name', label: 'Name', width: 'minmax(180px, 2fr)' },
  { key: 'status', label: 'Status', width: '100px' },
  { key: 'roles', label: 'Roles', width: 'minmax(90px, 1fr)' },
  { key: 'schedulable', label: 'Scheduling', width: 'minmax(120px, 1.4fr)' },
  { key: 'pods', label: 'Pods', width: '64px' },
  { key: 'sessions', label: 'Sessions', width: '80px' },
  { key: 'cpu', label: 'CPU', width: 'minmax(110px, 1fr)' },
  { key: 'memory', label: 'Memory', width: 'minmax(110px, 1fr)' },
  { key: 'age', label: 'Age', width: '70px' },
]
const GRID = COLUMNS.map((c) => c.width).join(' ')
const ROW_HEIGHT = 44

export const phaseColor = (phase: string) => (phase === 'Ready' ? 'success' : phase === 'NotReady' ? 'error' : 'warning') as 'success' | 'error' | 'warning'

/** Lower-case text a filter token is looked for in: name, every label as key=value, status words. */
function searchText(n: Node): string {
  const parts = [n.name, n.status.phase, n.unschedulable ? 'cordoned' : 'schedulable', ...n.roles]
  for (const [k, v] of Object.entries(n.labels)) parts.push(v ? `${k}=${v}` : k)
  return parts.join('\n').toLowerCase()
}

const byText = new Intl.Collator().compare

function compare(a: Node, b: Node, key: SortKey): number {
  switch (key) {
    case 'name': return byText(a.name, b.name)
    case 'status': return byText(a.status.phase, b.status.phase)
    case 'roles': return byText(a.roles.join(','), b.roles.join(','))
    case 'schedulable': return Number(a.unschedulable) - Number(b.unschedulable)
    case 'pods': return a.pods - b.pods
    case 'sessions': return a.sessions - b.sessions
    case 'cpu': return (a.usage?.cpu_percent ?? -1) - (b.usage?.cpu_percent ?? -1)
    case 'memory': return (a.usage?.memory_percent ?? -1) - (b.usage?.memory_percent ?? -1)
    case 'age': return b.created_at.localeCompare(a.created_at)
  }
}

export function UsageBar({ percent, testid, label }: { percent: number | null | undefined; testid?: string; label?: string }) {
  if (percent === null || percent === undefined) return <Typography variant="caption" color="text.secondary">no metrics</Typography>
  const color = percent >= 90 ? 'error' : percent >= 75 ? 'warning' : 'primary'
  return (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, width: '100%' }} data-testid={testid}>
      <LinearProgress variant="determinate" value={Math.min(100, percent)} color={color} sx={{ flexGrow: 1, height: 6, borderRadius: 3 }} aria-label={label ?? 'usage'} />
      <Typography variant="caption" sx={{ minWidth: 38, textAlign: 'right' }}>{percent.toFixed(1)}%</Typography>
    </Box>
  )
}

/** One cell of a row: the grid lays them out, the role tells assistive technology. */
const Cell = ({ children }: { children: ReactNode }) => <Box role="cell" sx={{ minWidth: 0 }}>{children}</Box>

/** One table row at its place; memoized whole, so a render that keeps it computes none of its styles. */
const Row = memo(function Row({ n, index, start, selected, onToggle }: { n: Node; index: number; start: number; selected: boolean; onToggle: (name: string) => void }) {
  return (
    <Box role="row" aria-rowindex={index + 2} data-node={n.name}
      sx={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${start}px)`, display: 'grid', gridTemplateColumns: GRID, alignItems: 'center', px: 1, gap: 1, borderBottom: 1, borderColor: 'divider', '&:hover': { bgcolor: 'action.hover' } }}>
      <Cell><Checkbox size="small" checked={selected} onChange={() => onToggle(n.name)} inputProps={{ 'aria-label': `select ${n.name}` }} /></Cell>
      <Cell><Link component={RouterLink} to={`/nodes/${enc(n.name)}`} noWrap underline="hover" data-testid="node-link" sx={{ display: 'block' }}>{n.name}</Link></Cell>
      <Cell><Chip size="small" label={n.status.phase} color={phaseColor(n.status.phase)} variant="outlined" /></Cell>
      <Cell><Typography variant="body2" noWrap>{n.roles.join(', ') || '<none>'}</Typography></Cell>
      <Cell><Typography variant="body2" noWrap color={n.unschedulable ? 'warning.main' : 'text.primary'} title={n.cordon?.reason ?? ''}>
        {n.unschedulable ? `Cordoned${n.cordon?.reason ? `: ${n.cordon.reason}` : ''}` : 'Schedulable'}
      </Typography></Cell>
      <Cell><Typography variant="body2">{n.pods}</Typography></Cell>
      <Cell><Typography variant="body2">{n.sessions}</Typography></Cell>
      <Cell><UsageBar percent={n.usage?.cpu_percent} label={`${n.name} CPU`} /></Cell>
      <Cell><UsageBar percent={n.usage?.memory_percent} label={`${n.name} memory`} /></Cell>
      <Cell><Typography variant="body2">{n.age}</Typography></Cell>
    </Box>
  )
})

/** The filter box: typing re-renders only it; the table follows in a transition (interruptible by the next key). */
function FilterBox({ onChange }: { onChange: (text: string) => void }) {
  const [text, setText] = useState('')
  return (
    <TextField
      size="small" label="Filter by name, label (key=value) or status" value={text}
      onChange={(e) => { setText(e.target.value); startTransition(() => onChange(e.target.value)) }}
      sx={{ minWidth: 360 }} inputProps={{ 'data-testid': 'filter' }}
    />
  )
}

function StatCard({ title, value, sub }: { title: string; value: string | number; sub?: ReactNode }) {
  return (
    <Grid item xs={6} md={2}>
      <Card><CardContent>
        <Typography variant="caption" color="text.secondary">{title}</Typography>
        <Typography variant="h5">{value}</Typography>
        {sub && <Typography variant="caption" color="text.secondary">{sub}</Typography>}
      </CardContent></Card>
    </Grid>
  )
}


/** Nodes in the first page, shown while the whole list comes (tens of MB of JSON at 65,000 nodes). */
export const FIRST_PAGE = 500

export default function NodesPage() {
  const qc = useQueryClient()
  // While the whole list is not cached, a first page comes first (it arrives and parses in tens
  // of ms; the whole list at 65,000 nodes takes seconds), then the whole list, not competing with it.
  // The server pages in name order.
  const cached = qc.getQueryData(['nodes']) !== undefined
  const firstPage = useQuery({ queryKey: ['nodes-first-page'], queryFn: () => api<Node[]>(`/nodes?limit=${FIRST_PAGE}`), enabled: !cached, gcTime: 0 })
  const nodes = useQuery({ queryKey: ['nodes'], queryFn: fetchNodes, refetchInterval: 10_000, enabled: cached || !firstPage.isPending })
  const list = nodes.data ?? firstPage.data
  const stats = useQuery({ queryKey: ['stats'], queryFn: () => api<ClusterStats>('/nodes/stats'), refetchInterval: 10_000 })
  const [filter, setFilter] = useState('')
  const [status, setStatus] = useState<StatusFilter>('all')
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false })
  const [selected, setSelected] = useState<Set<string>>(new Set())
  const [bulk, setBulk] = useState<null | 'cordon' | 'uncordon' | 'drain'>(null)
  const [asking, setAsking] = useState(false)
  const navigate = useNavigate()

  // Sorted once per list and order; a keystroke only filters (in order) the precomputed search texts.
  const indexed = useMemo(() => (list ?? []).map((n) => ({ n, text: searchText(n) })), [list])
  const sorted = useMemo(() => [...indexed].sort((a, b) => (sort.desc ? -1 : 1) * compare(a.n, b.n, sort.key) || byText(a.n.name, b.n.name)), [indexed, sort])
  const rows = useMemo(() => {
    const tokens = filter.toLowerCase().split(/\s+/).filter(Boolean)
    const out: Node[] = []
    for (const { n, text } of sorted) {
      if (status === 'cordoned' ? !n.unschedulable : status === 'schedulable' ? n.unschedulable : status !== 'all' && n.status.phase !== status) continue
      if (tokens.every((t) => text.includes(t))) out.push(n)
    }
    return out
  }, [sorted, filter, status])

  // The selection is what is shown: a node the filter hides leaves it (no action on nodes out of sight).
  useEffect(() => {
    setSelected((sel) => {
      if (sel.size === 0) return sel
      const shown = new Set(rows.map((r) => r.name))
      const kept = [...sel].filter((n) => shown.has(n))
      return kept.length === sel.size ? sel : new Set(kept)
    })
  }, [rows])

  // Marks for the browser tests and test/bench/ui.ts: the table committed for this filter (layout
  // effect: at commit, before the frame that paints it).
  useLayoutEffect(() => {
    if (nodes.data) performance.mark(`nodes-rendered:${filter}:${rows.length}`)
  }, [nodes.data, filter, rows.length])

  const scrollRef = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 4 })
  const toggle = useMemo(() => (name: string) => setSelected((s) => {
    const next = new Set(s)
    if (next.has(name)) next.delete(name); else next.add(name)
    return next
  }), [])
  const allShownSelected = rows.length > 0 && rows.every((r) => selected.has(r.name))

  const s = stats.data
  return (
    <Box>
      <Typography variant="h4" gutterBottom>Cluster Nodes</Typography>
      {s && (
        <Grid container spacing={2} sx={{ mb: 2 }} data-testid="stats">
          <StatCard title="Nodes" value={s.total_nodes} sub={`${s.schedulable_nodes} schedulable`} />
          <StatCard title="Ready" value={s.ready_nodes} sub={`${s.not_ready_nodes} not ready`} />
          <StatCard title="Pods" value={s.total_pods} />
          <StatCard title="Sessions" value={s.total_sessions} />
          <StatCard title="CPU" value={s.usage ? `${s.usage.cpu_percent.toFixed(1)}%` : '—'} sub={<>of <Cores value={s.total_allocatable.cpu} /> allocatable</>} />
          <StatCard title="Memory" value={s.usage ? `${s.usage.memory_percent.toFixed(1)}%` : '—'} sub={<>of <Bytes value={s.total_allocatable.memory} /> allocatable</>} />
        </Grid>
      )}
      {s?.stale && <Alert severity="warning" sx={{ mb: 2 }}>The Kubernetes API is unreachable: these figures are the last known{s.stale_since ? ` (since ${new Date(s.stale_since).toLocaleString()})` : ''}.</Alert>}
      {nodes.error && <Alert severity="error" sx={{ mb: 2 }} data-testid="error">{describeError(nodes.error)}</Alert>}
      {stats.error && <Alert severity="error" sx={{ mb: 2 }} data-testid="stats-error">Cluster statistics: {describeError(stats.error)}</Alert>}
      <Box sx={{ display: 'flex', gap: 2, mb: 1, alignItems: 'center', flexWrap: 'wrap' }}>
        <FilterBox onChange={setFilter} />
        <FormControl size="small" sx={{ minWidth: 160 }}>
          <InputLabel id="status-filter">Status</InputLabel>
          <Select labelId="status-filter" label="Status" value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)} data-testid="status-filter">
            <MenuItem value="all">All</MenuItem>
            <MenuItem value="Ready">Ready</MenuItem>
            <MenuItem value="NotReady">NotReady</MenuItem>
            <MenuItem value="Unknown">Unknown</MenuItem>
            <MenuItem value="cordoned">Cordoned</MenuItem>
            <MenuItem value="schedulable">Schedulable</MenuItem>
          </Select>
        </FormControl>
        <Typography variant="body2" color="text.secondary" data-testid="count">{nodes.data || !list ? `${rows.length} of ${list?.length ?? 0} nodes` : `${rows.length} of the first ${list.length} nodes; loading the rest`}</Typography>
        <Box sx={{ flexGrow: 1 }} />
        <Button onClick={() => setAsking((a) => !a)} aria-expanded={asking} data-testid="next-session-toggle">Where would the next session go?</Button>
        <Button variant="outlined" disabled={selected.size === 0} onClick={() => setBulk('cordon')} data-testid="bulk-cordon">Cordon ({selected.size})</Button>
        <Button variant="outlined" disabled={selected.size === 0} onClick={() => setBulk('uncordon')} data-testid="bulk-uncordon">Uncordon ({selected.size})</Button>
        <Button variant="contained" color="warning" disabled={selected.size === 0} onClick={() => setBulk('drain')} data-testid="bulk-drain">Drain ({selected.size})</Button>
      </Box>
      {asking && <NextSession />}
      <Card role="table" aria-label="Nodes" aria-rowcount={rows.length + 1}>
        <Box role="row" sx={{ display: 'grid', gridTemplateColumns: GRID, alignItems: 'center', px: 1, py: 0.5, borderBottom: 1, borderColor: 'divider', gap: 1 }}>
          <Box role="columnheader"><Checkbox size="small" checked={allShownSelected} indeterminate={!allShownSelected && rows.some((r) => selected.has(r.name))}
            onChange={() => setSelected(allShownSelected ? new Set() : new Set(rows.map((r) => r.name)))} inputProps={{ 'aria-label': 'select all shown' }} /></Box>
          {COLUMNS.slice(1).map((c) => {
            const active = sort.key === c.key
            return (
              <Box key={c.label} role="columnheader" aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                <ButtonBase data-testid={`sort-${c.key}`} sx={{ typography: 'subtitle2', borderRadius: 1, px: 0.5, '&.Mui-focusVisible': { outline: 2, outlineColor: 'primary.light' } }}
                  onClick={() => c.key && setSort((s) => ({ key: c.key!, desc: s.key === c.key ? !s.desc : false }))}>
                  {c.label}<span aria-hidden="true">{active ? (sort.desc ? ' ▼' : ' ▲') : ''}</span>
                </ButtonBase>
              </Box>
            )
          })}
        </Box>
        {nodes.isLoading && <LinearProgress aria-label="loading the nodes" />}
        <Box ref={scrollRef} role="rowgroup" sx={{ height: 'calc(100vh - 380px)', minHeight: 300, overflow: 'auto' }} data-testid="node-table">
          <Box sx={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const n = rows[v.index]
              return <Row key={n.name} n={n} index={v.index} start={v.start} selected={selected.has(n.name)} onToggle={toggle} />
            })}
          </Box>
          {nodes.data && rows.length === 0 && <Typography sx={{ p: 2 }} color="text.secondary">No node matches the filter.</Typography>}
        </Box>
      </Card>
      {bulk === 'drain' && (
        <Dialog open onClose={() => setBulk(null)} maxWidth="md" fullWidth aria-labelledby="bulk-drain-title">
          <DialogTitle id="bulk-drain-title">Drain {selected.size} node{selected.size === 1 ? '' : 's'} as a maintenance plan</DialogTitle>
          <DialogContent>
            <MaintenanceForm fixedNodes={rows.filter((r) => selected.has(r.name)).map((r) => r.name)} onCancel={() => setBulk(null)}
              onCreated={(plan) => { setBulk(null); setSelected(new Set()); navigate(`/maintenance?plan=${enc(plan.id)}`) }} />
          </DialogContent>
        </Dialog>
      )}
      {(bulk === 'cordon' || bulk === 'uncordon') && (
        <BulkCordon action={bulk} nodes={rows.filter((n) => selected.has(n.name))} onClose={(done) => {
          setBulk(null)
          if (done) { setSelected(new Set()); void qc.invalidateQueries({ queryKey: ['nodes'] }); void qc.invalidateQueries({ queryKey: ['stats'] }) }
        }} />
      )}
    </Box>
  )
}

/** Waits out a 429 (the per-user change limit) as its Retry-After says, then asks again. */
async function withRetryAfter<T>(fn: () => Promise<T>, onWait: (seconds: number) => void): Promise<T> {
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 429) throw err
      const seconds = Number(err.retryAfter) || 5
      onWait(seconds)
      await new Promise((r) => setTimeout(r, seconds * 1000))
    }
  }
}

function BulkCordon({ action, nodes, onClose }: { action: 'cordon' | 'uncordon'; nodes: Node[]; onClose: (done: boolean) => void }) {
  const [reason, setReason] = useState('')
  const [busy, setBusy] = useState(false)
  const [progress, setProgress] = useState({ done: 0, waiting: 0 })
  const [results, setResults] = useState<{ name: string; error?: string }[] | null>(null)
  const sessions = nodes.reduce((s, n) => s + n.sessions, 0)
  const run = async () => {
    setBusy(true)
    const out: { name: string; error?: string }[] = []
    const queue = [...nodes]
    // A few at a time; over the per-user change limit, each waits as the 429 says and goes on.
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, async () => {
      for (let n = queue.shift(); n; n = queue.shift()) {
        const name = n.name
        try {
          await withRetryAfter(() => api(`/nodes/${enc(name)}/${action}`, { method: 'POST', json: action === 'cordon' && reason ? { reason } : {} }),
            (waiting) => setProgress((p) => ({ ...p, waiting })))
          out.push({ name })
        } catch (err) {
          out.push({ name, error: describeError(err) })
        }
        setProgress({ done: out.length, waiting: 0 })
      }
    }))
    setResults(out)
    setBusy(false)
  }
  const failed = results?.filter((r) => r.error) ?? []
  const verb = action === 'cordon' ? 'Cordon' : 'Uncordon'
  return (
    <Dialog open onClose={() => !busy && onClose(results !== null)} maxWidth="sm" fullWidth aria-labelledby="bulk-title">
      <DialogTitle id="bulk-title">{verb} {nodes.length} node{nodes.length === 1 ? '' : 's'}</DialogTitle>
      <DialogContent>
        {!results && <>
          <Typography gutterBottom>
            {action === 'cordon'
              ? `New sessions will not be scheduled on these nodes. The ${sessions} running session${sessions === 1 ? '' : 's'} on them keep running.`
              : 'New sessions may be scheduled on these nodes again.'}
          </Typography>
          <Box component="ul" sx={{ m: 0, pl: 3, maxHeight: 160, overflow: 'auto' }} data-testid="bulk-nodes">{nodes.map((n) => <li key={n.name}>{n.name}</li>)}</Box>
          {action === 'cordon' && <TextField label="Reason (kept on the node)" value={reason} onChange={(e) => setReason(e.target.value)} fullWidth margin="normal" inputProps={{ 'data-testid': 'bulk-reason' }} />}
        </>}
        {busy && <>
          <LinearProgress variant="determinate" value={(100 * progress.done) / nodes.length} aria-label="nodes done" sx={{ mt: 2 }} />
          <Typography variant="body2" sx={{ mt: 1 }}>{progress.done} of {nodes.length}{progress.waiting ? ` · over the change limit: going on in ${progress.waiting} s` : ''}</Typography>
        </>}
        {results && <Alert severity={failed.length ? 'warning' : 'success'} data-testid="bulk-result">
          {results.length - failed.length} {action}ed{failed.length ? `; ${failed.length} failed:` : '.'}
          {failed.map((f) => <div key={f.name}>{f.name}: {f.error}</div>)}
        </Alert>}
      </DialogContent>
      <DialogActions>
        <Button onClick={() => onClose(results !== null)} disabled={busy}>{results ? 'Close' : 'Cancel'}</Button>
        {!results && <Button variant="contained" onClick={run} disabled={busy} data-testid="bulk-confirm">{verb}</Button>}
      </DialogActions>
    </Dialog>
  )
}
