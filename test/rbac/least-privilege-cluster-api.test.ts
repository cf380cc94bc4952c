// Least privilege with autoscaling.provider=cluster-api: the rules only that setting adds are each
// proven on the real API server (test/rbac/least-privilege.ts); the rules it shares with the
// defaults are proven by least-privilege.test.ts, and here only all together (every feature works).
import t from 'tap'
import { backendNames } from '../helpers/backend.js'
import { proveLeastPrivilege } from './least-privilege.js'

if (!backendNames().includes('apiserver')) {
  t.comment('TEST_BACKENDS leaves out the real API server: least privilege is proven only there')
} else {
  t.test('least privilege on the real API server: autoscaling.provider=cluster-api', (t) => proveLeastPrivilege(t, {
    name: 'autoscaling.provider=cluster-api',
    settings: { autoscalingProvider: 'cluster-api' },
    prove: (rule) => rule.needs?.autoscalingProvider === 'cluster-api',
  }))
}
