// The custom resources the product uses, as CustomResourceDefinitions for the real API server
// (installed by startApiServer). The simulator serves the same kinds with the same schema rules
// (src/sim/kinds.ts, src/sim/admission.ts): keep the two in step.
// - cluster.x-k8s.io/v1beta1 MachineDeployment: Cluster API's node groups, which cluster-autoscaler
//   scales through the scale subresource. Only what this product reads and writes is typed.
// - stream.space/v1alpha1 Session: a StreamSpace session (spec.user, spec.template, spec.state).

const preserve = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }

export const MACHINE_DEPLOYMENT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'machinedeployments.cluster.x-k8s.io' },
  spec: {
    group: 'cluster.x-k8s.io',
    names: { kind: 'MachineDeployment', listKind: 'MachineDeploymentList', plural: 'machinedeployments', singular: 'machinedeployment', shortNames: ['md'], categories: ['cluster-api'] },
    scope: 'Namespaced',
    versions: [{
      name: 'v1beta1',
      served: true,
      storage: true,
      subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
      additionalPrinterColumns: [
        { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName' },
        { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
        { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
        { name: 'Updated', type: 'integer', jsonPath: '.status.updatedReplicas' },
        { name: 'Unavailable', type: 'integer', jsonPath: '.status.unavailableReplicas' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        { name: 'Version', type: 'string', jsonPath: '.spec.template.spec.version' },
      ],
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              'x-kubernetes-preserve-unknown-fields': true,
              properties: {
                clusterName: { type: 'string' },
                replicas: { type: 'integer', format: 'int32' },
                selector: preserve,
                template: preserve,
              },
            },
            status: {
              type: 'object',
              'x-kubernetes-preserve-unknown-fields': true,
              properties: {
                replicas: { type: 'integer', format: 'int32' },
                readyReplicas: { type: 'integer', format: 'int32' },
                updatedReplicas: { type: 'integer', format: 'int32' },
                unavailableReplicas: { type: 'integer', format: 'int32' },
                selector: { type: 'string' },
                phase: { type: 'string' },
              },
            },
          },
        },
      },
    }],
  },
}

export const SESSION_STATES = ['running', 'hibernated', 'terminated'] as const

export const SESSION_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'sessions.stream.space' },
  spec: {
    group: 'stream.space',
    names: { kind: 'Session', listKind: 'SessionList', plural: 'sessions', singular: 'session', categories: ['streamspace'] },
    scope: 'Namespaced',
    versions: [{
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
      additionalPrinterColumns: [
        { name: 'User', type: 'string', jsonPath: '.spec.user' },
        { name: 'Template', type: 'string', jsonPath: '.spec.template' },
        { name: 'State', type: 'string', jsonPath: '.spec.state' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              required: ['user', 'template'],
              properties: {
                user: { type: 'string', minLength: 1 },
                template: { type: 'string', minLength: 1 },
                state: { type: 'string', enum: [...SESSION_STATES], default: 'running' },
              },
            },
            status: {
              type: 'object',
              properties: {
                phase: { type: 'string' },
              },
            },
          },
        },
      },
    }],
  },
}

export const CRDS = [MACHINE_DEPLOYMENT_CRD, SESSION_CRD]
