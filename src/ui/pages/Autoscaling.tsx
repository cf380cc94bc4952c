// Autoscaling: the current recommendation and why, utilization against the thresholds over time,
// the nodes protected from scale-down and why, the Cluster API node groups with their min/max and
// the overprovisioning headroom (GET P/autoscaling; protection from the node list's sessions).
import { useEffect, useState } from 'react'
import { Link as RouterLink } from 'react-router-dom'
import { useQuery } from '@tanstack/react-query'
import {
  Alert, Box, Card, CardContent, CardHeader, Chip, Grid, LinearProgress, Link, Stack, Table, TableBody, TableCell, TableHead, TableRow, Typography,
} from '@mui/material'
import type { Static } from 'typebox'
import { api, describeError, enc, fetchNodes } from '../api'
import type { AutoscalingStatus } from '../../schemas/autoscaling.js'
import { Bytes, Cores } from '../Readable.tsx'
import { Chart, type Series } from './Resources.tsx'

type Status = Static<typeof AutoscalingStatus>
const actionColor = { scale_up: 'warning', scale_down: 'info', none: 'success' } as const
const actionText = { scale_up: 'Scale up', scale_down: 'Scale down', none: 'No change' } as const
/** Samples of utilization kept while the page is open (one per refresh). */
const KEEP = 360

export default function AutoscalingPage() {
  const status = useQuery({ queryKey: ['autoscaling'], queryFn: () => api<Status>('/autoscaling'), refetchInterval: 10_000 })
  const nodes = useQuery({ queryKey: ['nodes'], queryFn: fetchNodes, refetchInterval: 30_000 })
  const [samples, setSamples] = useState<{ t: number; v: number }[]>([])
  const s = status.data
  useEffect(() => {
    if (s?.utilization) setSamples((x) => [...x.slice(-KEEP + 1), { t: status.dataUpdatedAt, v: s.utilization!.utilization_percent }])
  }, [s, status.dataUpdatedAt])

  const protectedNodes = (nodes.data ?? []).filter((n) => n.sessions > 0)
  if (!s) {
    return <Box><Typography variant="h4" gutterBottom>Autoscaling</Typography>
      {status.error ? <Alert severity="error" data-testid="error">{describeError(status.error)}</Alert> : <LinearProgress aria-label="loading" />}</Box>
  }
  const rec = s.recommendation
  // The recommendation changes this replica saw (newest first in the API), then what this page sampled.
  const points = [...s.history].reverse().map((h) => ({ t: Date.parse(h.since), v: h.utilization_percent })).concat(samples).sort((a, b) => a.t - b.t)
  const t0 = points[0]?.t ?? Date.now()
  const t1 = Math.max(points[points.length - 1]?.t ?? t0, t0 + 1)
  const flat = (v: number) => [{ t: t0, v }, { t: t1, v }]
  const series: Series[] = [
    { label: 'utilization (requests over allocatable)', color: '#42a5f5', points },
    { label: `scale up above ${s.thresholds.scale_up}%`, color: '#ef6c00', points: flat(s.thresholds.scale_up), dashed: true },
    { label: `scale down below ${s.thresholds.scale_down}%`, color: '#2e7d32', points: flat(s.thresholds.scale_down), dashed: true },
  ]
  const capi = s.cluster_api
  return (
    <Box>
      <Typography variant="h4" gutterBottom>Autoscaling</Typography>
      {status.error && <Alert severity="error" sx={{ mb: 2 }}>{describeError(status.error)}</Alert>}
      {!s.enabled && <Alert severity="info" sx={{ mb: 2 }}>Automatic scaling is off (Settings): recommendations are computed, nothing acts on them.</Alert>}
      <Grid container spacing={2}>
        <Grid item xs={12} md={5}>
          <Card data-testid="recommendation"><CardHeader title="Recommendation" subheader={rec ? `${rec.computed_by === 'leader' ? 'held through the stabilization windows' : 'this replica\'s figures of the moment (not the leader)'} · provider ${s.provider}` : `provider ${s.provider}`} />
            <CardContent>
              {rec ? <>
                <Stack direction="row" spacing={2} alignItems="center" sx={{ mb: 1 }}>
                  <Chip label={actionText[rec.action]} color={actionColor[rec.action]} data-testid="recommendation-action" />
                  <Typography variant="h6">{rec.current_nodes} → {rec.desired_nodes} nodes</Typography>
                </Stack>
                <Typography variant="body2" data-testid="recommendation-reason">{rec.reason}</Typography>
                <Typography variant="caption" color="text.secondary">since {new Date(rec.since).toLocaleString()} · nodes {s.thresholds.min_nodes} to {s.thresholds.max_nodes}</Typography>
              </> : <Typography color="text.secondary">No recommendation yet: the first comes after one evaluation ({s.thresholds.interval_seconds} s).</Typography>}
              {s.utilization && (
                <Typography variant="body2" sx={{ mt: 1 }} data-testid="utilization">
                  Utilization {s.utilization.utilization_percent.toFixed(1)}% (CPU requested {s.utilization.cpu_percent.toFixed(1)}%, memory {s.utilization.memory_percent.toFixed(1)}%) over {s.utilization.nodes} Ready nodes
                </Typography>
              )}
              {s.last_action && <Typography variant="body2" sx={{ mt: 1 }}>Last change recommended: {actionText[s.last_action.action]} to {s.last_action.desired_nodes} ({new Date(s.last_action.since).toLocaleString()})</Typography>}
            </CardContent>
          </Card>
        </Grid>
        <Grid item xs={12} md={7}>
          <Card><CardContent>
            {points.length > 0
              ? <Chart title="Utilization against the thresholds" unit="%" series={series} testid="utilization-chart" yFloor={100} />
              : <Typography color="text.secondary">No utilization figures yet.</Typography>}
          </CardContent></Card>
        </Grid>
        <Grid item xs={12} md={6}>
          <Card data-testid="protected"><CardHeader title={`Protected from scale-down (${protectedNodes.length})`}
            subheader="Nodes running sessions carry cluster-autoscaler.kubernetes.io/scale-down-disabled and karpenter.sh/do-not-disrupt while they do" />
            <CardContent>
              {protectedNodes.length === 0 ? <Typography color="text.secondary">No node runs a session.</Typography> : (
                <Table size="small"><TableHead><TableRow><TableCell>Node</TableCell><TableCell>Why</TableCell></TableRow></TableHead>
                  <TableBody>{protectedNodes.slice(0, 100).map((n) => (
                    <TableRow key={n.name} data-node={n.name}>
                      <TableCell><Link component={RouterLink} to={`/nodes/${enc(n.name)}`}>{n.name}</Link></TableCell>
                      <TableCell>{n.sessions} running session{n.sessions === 1 ? '' : 's'}</TableCell>
                    </TableRow>
                  ))}</TableBody></Table>
              )}
              {protectedNodes.length > 100 && <Typography variant="body2" color="text.secondary">and {protectedNodes.length - 100} more</Typography>}
            </CardContent></Card>
        </Grid>
        <Grid item xs={12} md={6}>
          <Card data-testid="node-groups"><CardHeader title="Cluster API node groups" subheader={capi ? `MachineDeployments matching ${capi.selector}${capi.last_sync ? ` · in step since ${new Date(capi.last_sync).toLocaleString()}` : ''}` : 'AUTOSCALING_PROVIDER is none: recommendations only'} />
            <CardContent>
              {capi && (capi.machine_deployments.length === 0 ? <Typography color="text.secondary">No MachineDeployment matches.</Typography> : (
                <Table size="small"><TableHead><TableRow><TableCell>Node group</TableCell><TableCell>Replicas</TableCell><TableCell>Min</TableCell><TableCell>Max</TableCell></TableRow></TableHead>
                  <TableBody>{capi.machine_deployments.map((m) => (
                    <TableRow key={`${m.namespace}/${m.name}`} data-group={m.name}>
                      <TableCell>{m.namespace}/{m.name}</TableCell><TableCell>{m.replicas ?? '—'}</TableCell><TableCell>{m.min_size}</TableCell><TableCell>{m.max_size}</TableCell>
                    </TableRow>
                  ))}</TableBody></Table>
              ))}
              <Typography variant="subtitle2" sx={{ mt: 2 }}>Overprovisioning headroom</Typography>
              <Typography variant="body2" data-testid="headroom">
                {capi?.overprovisioning
                  ? <>{capi.overprovisioning.replicas} pause pod(s) of <Cores value={capi.overprovisioning.cpu} /> and <Bytes value={capi.overprovisioning.memory} /> each ({capi.overprovisioning.percent_of_node}% of an average node, PriorityClass {capi.overprovisioning.priority_class}): real pods preempt them, so cluster-autoscaler adds nodes early.</>
                  : 'None: it is kept only with the cluster-api provider while automatic scaling is on.'}
              </Typography>
            </CardContent></Card>
        </Grid>
      </Grid>
    </Box>
  )
}
