// Least privilege with the chart's defaults (autoscaling.provider none): every rule the chart
// renders for them is proven on the real API server (test/rbac/least-privilege.ts), and the
// provider none touches nothing of Cluster API, for which it has no rights.
import t from 'tap'
import { backendNames } from '../helpers/backend.js'
import { waitFor } from '../helpers/service.js'
import { proveLeastPrivilege } from './least-privilege.js'

if (!backendNames().includes('apiserver')) {
  t.comment('TEST_BACKENDS leaves out the real API server: least privilege is proven only there')
} else {
  t.test('least privilege on the real API server: defaults', (t) => proveLeastPrivilege(t, {
    name: 'defaults',
    settings: { autoscalingProvider: 'none' },
    prove: () => true,
    async withEveryRule(t, svc) {
      // Leading starts every leader loop; stopping the cluster-api one waits for a pass it began.
      await waitFor(() => svc.app.health.isLeader(), 20_000, 'leadership')
      await svc.app.autoscaling.clusterApi.stopLeading()
      const state = svc.app.autoscaling.clusterApi.state
      t.equal(state.last_sync, null, 'provider none: the leader made no cluster-api pass (no MachineDeployment, Deployment or PriorityClass call)')
      t.equal(state.error, null, `provider none: no cluster-api error (${state.error})`)
    },
  }))
}

