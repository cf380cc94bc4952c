// The custom resources the product uses, as CustomResourceDefinitions for the real API server
// (installed by startApiServer). The simulator serves the same kinds with the same schema rules
// (src/sim/kinds.ts, src/sim/admission.ts): keep the two in step.
// - cluster.x-k8s.io/v1beta1 MachineDeployment: Cluster API's node groups, which cluster-autoscaler
//   scales through the scale subresource. Only what this product reads and writes is typed.
// - stream.space/v1alpha1 Session: a StreamSpace session (spec.user, spec.template, spec.state).
// crd() builds any of them (also the chart test's stand-ins for other projects' CRDs).
// The product's own CRDs (nodes.stream.space) are not written here: CHART_CRDS reads the chart's
// crds/*.yaml, the files helm installs and the simulator serves (src/sim/crds.ts).
import { readCrdFiles } from '../../src/sim/crds.js'

const preserve = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
const int32 = { type: 'integer', format: 'int32' }
const AGE = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }

export interface CrdSpec {
  group: string
  version: string
  kind: string
  plural: string
  shortNames?: string[]
  categories?: string[]
  subresources?: object
  columns?: Array<{ name: string; type: string; jsonPath: string }>
  /** The version's openAPIV3Schema. Default: any object (no field schema). */
  schema?: object
  annotations?: Record<string, string>
}

/** A namespaced CustomResourceDefinition with one served, stored version. */
export function crd(s: CrdSpec) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${s.plural}.${s.group}`, ...(s.annotations ? { annotations: s.annotations } : {}) },
    spec: {
      group: s.group,
      names: {
        kind: s.kind, listKind: `${s.kind}List`, plural: s.plural, singular: s.kind.toLowerCase(),
        ...(s.shortNames ? { shortNames: s.shortNames } : {}), ...(s.categories ? { categories: s.categories } : {}),
      },
      scope: 'Namespaced',
      versions: [{
        name: s.version,
        served: true,
        storage: true,
        ...(s.subresources ? { subresources: s.subresources } : {}),
        ...(s.columns ? { additionalPrinterColumns: s.columns } : {}),
        schema: { openAPIV3Schema: s.schema ?? preserve },
      }],
    },
  }
}

export const MACHINE_DEPLOYMENT_CRD = crd({
  group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment', plural: 'machinedeployments', shortNames: ['md'], categories: ['cluster-api'],
  subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
  columns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Updated', type: 'integer', jsonPath: '.status.updatedReplicas' },
    { name: 'Unavailable', type: 'integer', jsonPath: '.status.unavailableReplicas' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    AGE,
    { name: 'Version', type: 'string', jsonPath: '.spec.template.spec.version' },
  ],
  schema: {
    type: 'object',
    properties: {
      spec: { ...preserve, properties: { clusterName: { type: 'string' }, replicas: int32, selector: preserve, template: preserve } },
      status: {
        ...preserve,
        properties: { replicas: int32, readyReplicas: int32, updatedReplicas: int32, unavailableReplicas: int32, selector: { type: 'string' }, phase: { type: 'string' } },
      },
    },
  },
})

export const SESSION_STATES = ['running', 'hibernated', 'terminated'] as const

export const SESSION_CRD = crd({
  group: 'stream.space', version: 'v1alpha1', kind: 'Session', plural: 'sessions', categories: ['streamspace'],
  subresources: { status: {} },
  columns: [
    { name: 'User', type: 'string', jsonPath: '.spec.user' },
    { name: 'Template', type: 'string', jsonPath: '.spec.template' },
    { name: 'State', type: 'string', jsonPath: '.spec.state' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    AGE,
  ],
  schema: {
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
      status: { type: 'object', properties: { phase: { type: 'string' } } },
    },
  },
})

/** charts/streamspace-node-manager/crds/*.yaml, read from disk. */
export const CHART_CRDS = readCrdFiles()

export const CRDS = [MACHINE_DEPLOYMENT_CRD, SESSION_CRD, ...CHART_CRDS]
