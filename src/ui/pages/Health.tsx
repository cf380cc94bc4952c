// Cluster Health: overall status, the nodes with problems and why, alerts, last check, the leader.
// Refreshes by itself; If-None-Match makes an unchanged answer cost no body where the API sends an ETag.
import { Link as RouterLink } from 'react-router-dom'
import { useQuery } from '@tanstack/react-query'
import { Alert, Box, Card, CardContent, CardHeader, Chip, LinearProgress, Link, Stack, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material'
import { describeError, enc, etagFetcher, type ClusterHealth } from '../api'

const fetchHealth = etagFetcher<ClusterHealth>('/cluster/health')
const statusColor = { healthy: 'success', degraded: 'warning', critical: 'error' } as const
const when = (t: string | null | undefined) => (t ? new Date(t).toLocaleString() : '—')

export default function HealthPage() {
  const health = useQuery({ queryKey: ['health'], queryFn: fetchHealth, refetchInterval: 5_000 })
  const h = health.data
  return (
    <Box>
      <Typography variant="h4" gutterBottom>Cluster Health</Typography>
      {health.error && <Alert severity="error" data-testid="error">{describeError(health.error)}</Alert>}
      {health.isLoading && <LinearProgress />}
      {h && <>
        <Stack direction="row" spacing={2} alignItems="center" sx={{ mb: 2, flexWrap: 'wrap' }}>
          <Chip label={h.status.toUpperCase()} color={statusColor[h.status]} data-testid="health-status" />
          <Typography variant="body2">Last check: {when(h.last_check)}</Typography>
          <Typography variant="body2" data-testid="leader">
            Leader: {h.leader.identity ?? 'none'}{h.leader.is_self ? ' (this replica)' : ''}
          </Typography>
        </Stack>
        {h.leader.error && <Alert severity="warning" sx={{ mb: 2 }}>This replica cannot take part in leader election: {h.leader.error}</Alert>}
        <Card sx={{ mb: 2 }}>
          <CardHeader title={`Nodes with problems (${h.nodes.length})`} />
          <CardContent>
            {h.nodes.length === 0 ? <Typography color="text.secondary">Every node is healthy.</Typography> : (
              <Table size="small" data-testid="problem-nodes">
                <TableHead><TableRow><TableCell>Node</TableCell><TableCell>Phase</TableCell><TableCell>Problem</TableCell><TableCell>Since</TableCell></TableRow></TableHead>
                <TableBody>{h.nodes.flatMap((n) => (n.conditions.length ? n.conditions : [null]).map((c, i) => (
                  <TableRow key={`${n.name}-${i}`} data-node={n.name}>
                    <TableCell sx={{ whiteSpace: 'nowrap' }}>{i === 0 && <Link component={RouterLink} to={`/nodes/${enc(n.name)}`}>{n.name}</Link>}</TableCell>
                    <TableCell>{i === 0 && <Chip size="small" label={n.phase} color={n.phase === 'Ready' ? 'success' : 'error'} variant="outlined" />}</TableCell>
                    <TableCell>{c ? `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}` : ''}</TableCell>
                    <TableCell>{when(c?.since)}</TableCell>
                  </TableRow>
                )))}</TableBody>
              </Table>
            )}
          </CardContent>
        </Card>
        <Card>
          <CardHeader title={`Alerts (${h.alerts.length})`} subheader={h.leader.is_self ? undefined : 'Alerts are known to the leader; this replica shows none of its own.'} />
          <CardContent>
            {h.alerts.length === 0 ? <Typography color="text.secondary">No active or recent alerts.</Typography> : (
              <Table size="small" data-testid="alerts">
                <TableHead><TableRow><TableCell>Alert</TableCell><TableCell>Node</TableCell><TableCell>State</TableCell><TableCell>Severity</TableCell><TableCell>Summary</TableCell><TableCell>Started</TableCell><TableCell>Ended</TableCell></TableRow></TableHead>
                <TableBody>{h.alerts.map((a) => (
                  <TableRow key={`${a.alertname}-${a.node}-${a.condition}-${a.starts_at}`}>
                    <TableCell>{a.alertname}</TableCell><TableCell>{a.node}</TableCell>
                    <TableCell><Chip size="small" label={a.state} color={a.state === 'firing' ? 'error' : a.state === 'pending' ? 'warning' : 'default'} /></TableCell>
                    <TableCell>{a.severity}</TableCell><TableCell>{a.summary}</TableCell><TableCell>{when(a.starts_at)}</TableCell><TableCell>{when(a.ends_at)}</TableCell>
                  </TableRow>
                ))}</TableBody>
              </Table>
            )}
          </CardContent>
        </Card>
      </>}
    </Box>
  )
}
