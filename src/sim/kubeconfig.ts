// The kubeconfig the sim writes for itself: any bearer token, plain http (so client-node needs
// insecure-skip-tls-verify), context namespace default.
export function kubeconfigFor(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: streamspace-sim',
    '  cluster:',
    `    server: ${url}`,
    '    insecure-skip-tls-verify: true',
    'contexts:',
    '- name: streamspace-sim',
    '  context:',
    '    cluster: streamspace-sim',
    '    user: streamspace-sim-admin',
    '    namespace: default',
    'current-context: streamspace-sim',
    'preferences: {}',
    'users:',
    '- name: streamspace-sim-admin',
    '  user:',
    '    token: streamspace-sim-token',
    '',
  ].join('\n')
}
