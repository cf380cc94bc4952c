// Node Resources: CPU and memory over time for one node and for the cluster, from
// P/nodes/:name/metrics, with allocatable as a line and requested beside usage.
import { useMemo, useState } from 'react'
import { useSearchParams } from 'react-router-dom'
import { useQueries, useQuery } from '@tanstack/react-query'
import { Alert, Autocomplete, Box, Card, CardContent, CardHeader, Grid, LinearProgress, MenuItem, TextField, Typography } from '@mui/material'
import { quantityToNumber } from '../quantity'
import { Bytes, Cores } from '../Readable.tsx'
import { api, describeError, enc, type NodeDetail, type NodeMetricsHistory, type Node } from '../api'

export interface Series { label: string; color: string; points: { t: number; v: number }[]; dashed?: boolean }
const GiB = 2 ** 30

/** A small SVG line chart: time on x, the unit on y; flat lines for allocatable and requested. */
export function Chart({ title, unit, series, testid, yFloor = 0 }: { title: string; unit: string; series: Series[]; testid: string; yFloor?: number }) {
  const W = 800, H = 220, L = 56, R = 12, T = 10, B = 26
  const all = series.flatMap((s) => s.points)
  if (all.length === 0) return null
  const t0 = Math.min(...all.map((p) => p.t)), t1 = Math.max(...all.map((p) => p.t), t0 + 1)
  const yMax = Math.max(...all.map((p) => p.v), yFloor) * 1.1 || 1
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R)
  const y = (v: number) => T + (1 - v / yMax) * (H - T - B)
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax)
  return (
    <Box data-testid={testid}>
      <Typography variant="subtitle1">{title}</Typography>
      {/* Axis text in the text color (currentColor): readable in light and dark. */}
      <Box component="svg" viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={title} sx={{ display: 'block', color: 'text.secondary' }}>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={L} x2={W - R} y1={y(v)} y2={y(v)} stroke="currentColor" strokeOpacity={0.15} />
            <text x={L - 6} y={y(v) + 4} fill="currentColor" fontSize="11" textAnchor="end">{v < 10 ? v.toFixed(1) : v.toFixed(0)}</text>
          </g>
        ))}
        <text x={L} y={H - 6} fill="currentColor" fontSize="11">{new Date(t0).toLocaleTimeString()}</text>
        <text x={W - R} y={H - 6} fill="currentColor" fontSize="11" textAnchor="end">{new Date(t1).toLocaleTimeString()}</text>
        {series.map((s) => s.points.length === 1
          ? <circle key={s.label} cx={x(s.points[0].t)} cy={y(s.points[0].v)} r={3} fill={s.color} />
          : <polyline key={s.label} data-series={s.label} fill="none" stroke={s.color} strokeWidth={2} strokeDasharray={s.dashed ? '6 4' : undefined}
            points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')} />)}
      </Box>
      <Box sx={{ display: 'flex', gap: 2, flexWrap: 'wrap' }}>
        {/* The line's color on its mark only: the words stay in the text color, readable on both palettes. */}
        {series.map((s) => <Typography key={s.label} variant="caption"><svg width="18" height="8" aria-hidden="true" style={{ marginRight: 4 }}><line x1="0" y1="4" x2="18" y2="4" stroke={s.color} strokeWidth="2" strokeDasharray={s.dashed ? '4 3' : undefined} /></svg>{s.label}</Typography>)}
        <Typography variant="caption" color="text.secondary">({unit})</Typography>
      </Box>
    </Box>
  )
}

const flat = (label: string, color: string, v: number, t0: number, t1: number): Series => ({ label, color, dashed: true, points: [{ t: t0, v }, { t: t1, v }] })

function charts(samples: { t: number; cpu: number; mem: number }[], alloc: { cpu: number; mem: number }, requested?: { cpu: number; mem: number }) {
  const t0 = samples[0]?.t ?? 0, t1 = samples[samples.length - 1]?.t ?? 0
  const cpu: Series[] = [{ label: 'CPU used', color: '#90caf9', points: samples.map((s) => ({ t: s.t, v: s.cpu })) }, flat('allocatable', '#66bb6a', alloc.cpu, t0, t1)]
  const mem: Series[] = [{ label: 'memory used', color: '#ce93d8', points: samples.map((s) => ({ t: s.t, v: s.mem / GiB })) }, flat('allocatable', '#66bb6a', alloc.mem / GiB, t0, t1)]
  if (requested) {
    cpu.push(flat('requested', '#ffb74d', requested.cpu, t0, t1))
    mem.push(flat('requested', '#ffb74d', requested.mem / GiB, t0, t1))
  }
  return { cpu, mem }
}

const CLUSTER_NODE_LIMIT = 100

export default function ResourcesPage() {
  const [params, setParams] = useSearchParams()
  const [window, setWindow] = useState('1h')
  const nodes = useQuery({ queryKey: ['nodes'], queryFn: () => api<Node[]>('/nodes'), refetchInterval: 30_000 })
  const names = useMemo(() => (nodes.data ?? []).map((n) => n.name), [nodes.data])
  const selected = params.get('node') ?? names.find((n) => nodes.data?.find((x) => x.name === n)?.status.ready) ?? names[0] ?? null

  const metrics = useQuery({
    queryKey: ['metrics', selected, window], enabled: !!selected, refetchInterval: 15_000,
    queryFn: () => api<NodeMetricsHistory>(`/nodes/${enc(selected!)}/metrics?window=${window}`),
  })
  const detail = useQuery({ queryKey: ['node', selected], enabled: !!selected, queryFn: () => api<NodeDetail>(`/nodes/${enc(selected!)}`) })

  // The cluster: every node's history summed per sample interval (small and medium clusters).
  const clusterNodes = (nodes.data ?? []).length <= CLUSTER_NODE_LIMIT ? (nodes.data ?? []) : []
  const clusterQueries = useQueries({
    queries: clusterNodes.map((n) => ({
      queryKey: ['metrics', n.name, window], refetchInterval: 15_000,
      queryFn: () => api<NodeMetricsHistory>(`/nodes/${enc(n.name)}/metrics?window=${window}`),
    })),
  })
  const cluster = useMemo(() => {
    const buckets = new Map<number, { cpu: number; mem: number; n: number }>()
    let allocCpu = 0, allocMem = 0, available = false
    clusterQueries.forEach((q, i) => {
      const h = q.data
      if (!h) return
      available ||= h.available
      if (h.samples.length === 0) return
      allocCpu += quantityToNumber(clusterNodes[i].allocatable.cpu)
      allocMem += quantityToNumber(clusterNodes[i].allocatable.memory)
      const step = (h.interval_seconds || 15) * 1000
      for (const s of h.samples) {
        const t = Math.round(Date.parse(s.timestamp) / step) * step
        const b = buckets.get(t) ?? { cpu: 0, mem: 0, n: 0 }
        b.cpu += quantityToNumber(s.cpu); b.mem += quantityToNumber(s.memory); b.n++
        buckets.set(t, b)
      }
    })
    // Only intervals every reporting node has a sample in: a partial sum would look like a drop.
    const full = Math.max(0, ...[...buckets.values()].map((b) => b.n))
    const samples = [...buckets.entries()].filter(([, b]) => b.n === full).sort((a, b) => a[0] - b[0]).map(([t, b]) => ({ t, cpu: b.cpu, mem: b.mem }))
    return { samples, alloc: { cpu: allocCpu, mem: allocMem }, available }
  }, [clusterQueries, clusterNodes])

  const m = metrics.data
  const d = detail.data
  const nodeSamples = (m?.samples ?? []).map((s) => ({ t: Date.parse(s.timestamp), cpu: quantityToNumber(s.cpu), mem: quantityToNumber(s.memory) }))
  const nodeCharts = d && charts(nodeSamples, { cpu: quantityToNumber(d.allocatable.cpu), mem: quantityToNumber(d.allocatable.memory) },
    { cpu: quantityToNumber(d.allocated.cpu), mem: quantityToNumber(d.allocated.memory) })
  const clusterCharts = charts(cluster.samples, cluster.alloc)
  const noMetrics = m && !m.available

  return (
    <Box>
      <Typography variant="h4" gutterBottom>Node Resources</Typography>
      {(nodes.error || metrics.error) && <Alert severity="error" sx={{ mb: 2 }} data-testid="error">{describeError(nodes.error ?? metrics.error)}</Alert>}
      <Box sx={{ display: 'flex', gap: 2, mb: 2 }}>
        <Autocomplete sx={{ minWidth: 320 }} options={names} value={selected} onChange={(_e, v) => v && setParams({ node: v })}
          filterOptions={(opts, s) => opts.filter((o) => o.includes(s.inputValue)).slice(0, 50)}
          renderInput={(p) => <TextField {...p} size="small" label="Node" inputProps={{ ...p.inputProps, 'data-testid': 'node-select' }} />} />
        <TextField select size="small" label="Window" value={window} onChange={(e) => setWindow(e.target.value)} sx={{ width: 120 }}>
          {['15m', '1h', '6h'].map((w) => <MenuItem key={w} value={w}>{w}</MenuItem>)}
        </TextField>
      </Box>
      {noMetrics && (
        <Alert severity="info" sx={{ mb: 2 }} data-testid="no-metrics">
          No usage data: the cluster does not serve metrics.k8s.io (metrics-server is not installed or not answering). Install
          metrics-server to see CPU and memory over time; requested and allocatable are shown below.
        </Alert>
      )}
      {(metrics.isLoading || detail.isLoading) && <LinearProgress />}
      <Grid container spacing={2}>
        {selected && d && (
          <Grid item xs={12} lg={6}>
            <Card><CardHeader title={selected} subheader={<>requested <Cores value={d.allocated.cpu} />, <Bytes value={d.allocated.memory} />; allocatable <Cores value={d.allocatable.cpu} />, <Bytes value={d.allocatable.memory} /></>} />
              <CardContent>
                {m && m.available && m.samples.length === 0 && <Typography color="text.secondary" data-testid="no-samples">No samples yet for {selected}: the first arrives within {m.interval_seconds} s{d.status.ready ? '' : ' (the node is not Ready: metrics-server reports only Ready nodes)'}.</Typography>}
                {nodeCharts && nodeSamples.length > 0 && <>
                  <Chart title="CPU" unit="cores" series={nodeCharts.cpu} testid="node-cpu-chart" />
                  <Chart title="Memory" unit="GiB" series={nodeCharts.mem} testid="node-memory-chart" />
                </>}
              </CardContent>
            </Card>
          </Grid>
        )}
        <Grid item xs={12} lg={6}>
          <Card><CardHeader title="Cluster" subheader={clusterNodes.length ? `${clusterNodes.length} nodes, summed per sample` : `More than ${CLUSTER_NODE_LIMIT} nodes: pick nodes one at a time; cluster totals are on Cluster Nodes`} />
            <CardContent>
              {cluster.samples.length > 0
                ? <>
                  <Chart title="CPU" unit="cores" series={clusterCharts.cpu} testid="cluster-cpu-chart" />
                  <Chart title="Memory" unit="GiB" series={clusterCharts.mem} testid="cluster-memory-chart" />
                </>
                : <Typography color="text.secondary">{clusterNodes.length && !cluster.available && clusterQueries.every((q) => q.data) ? 'No usage data (no metrics-server).' : 'No samples yet.'}</Typography>}
            </CardContent>
          </Card>
        </Grid>
      </Grid>
    </Box>
  )
}
