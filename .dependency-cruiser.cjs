// The layers of DESIGN.md "Layout", checked in `npm test` (test/lint/layers.test.ts), not by memory.
// Each module imports only those below it:
//   src/server.ts (composition root)
//   > src/app.ts and src/plugins/
//   > src/routes/ and src/schemas/
//   > domain rooms: src/nodes/ src/drain/ src/health/ src/autoscaling/ src/selection/ src/maintenance/
//   > src/kube/
//   > config and small shared helpers: src/config.ts, src/clock.ts, src/errors.ts
// src/sim/ stands apart (an independent Kubernetes), src/ui/ is the browser app. test/ and scripts/
// may import anything.
const ROOMS = '(nodes|drain|health|autoscaling|selection|maintenance)'
// patterns: Kubernetes' syntax rules as JSON Schema patterns (data), shared by kube, the domain and the schemas.
const SHARED = '^src/(config|clock|errors|patterns)[.]ts$'
const FASTIFY = '^node_modules/(fastify|fastify-plugin|@fastify/[^/]+)/'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one that nobody can read or test alone, and hides which layer is on top.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-helpers-import-nothing-of-the-product',
      severity: 'error',
      comment: 'config, clock and errors sit under everything else, so anything may use them without pulling in a layer above.',
      from: { path: SHARED },
      to: { path: '^src/', pathNot: SHARED },
    },
    {
      name: 'kube-knows-no-room-above-it',
      severity: 'error',
      comment: 'src/kube is the one door to the cluster: it keeps the watch caches and typed calls and must not know the domain, routes, schemas, plugins or app that use it (nor the simulator).',
      from: { path: '^src/kube/' },
      to: { path: '^src/', pathNot: ['^src/kube/', SHARED] },
    },
    {
      name: 'domain-rooms-stay-below-http',
      severity: 'error',
      comment: 'Domain rooms are plain code with collaborators passed in: they know no route, schema of the wire, plugin, app, server, simulator or UI, so they can be tested without HTTP.',
      from: { path: `^src/${ROOMS}/` },
      to: { path: '^src/', pathNot: [`^src/${ROOMS}/`, '^src/kube/', SHARED] },
    },
    {
      name: 'domain-rooms-know-no-fastify',
      severity: 'error',
      comment: 'Domain rooms report outcomes in their own terms (src/errors.ts) and one plugin maps them to HTTP: Fastify belongs to routes and plugins.',
      from: { path: `^src/${ROOMS}/` },
      to: { path: FASTIFY },
    },
    {
      name: 'client-node-only-in-kube',
      severity: 'error',
      comment: 'All Kubernetes access goes through src/kube; elsewhere (domain rooms) the client library may be imported for its types only.',
      from: { path: '^src/', pathNot: ['^src/kube/', '^src/sim/'] },
      to: { path: '^node_modules/@kubernetes/client-node/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'routes-reach-the-cluster-through-the-domain',
      severity: 'error',
      comment: 'Routes are thin: schema in, a call into a domain room, its answer out; they do not touch src/kube (not even its types) or the client library, and know no plugin module, app or server (they get those through the Fastify instance).',
      from: { path: '^src/routes/' },
      to: { path: ['^src/(kube|plugins|sim|ui)/', '^src/(app|server)[.]ts$', '^node_modules/@kubernetes/client-node/'] },
    },
    {
      name: 'schemas-are-wire-shapes-only',
      severity: 'error',
      comment: 'src/schemas holds the TypeBox shapes routes and OpenAPI share; it may take shapes a domain room defines (one definition per shape), but no behaviour from kube, routes, plugins, app or server.',
      from: { path: '^src/schemas/' },
      to: { path: '^src/', pathNot: ['^src/schemas/', `^src/${ROOMS}/`, SHARED] },
    },
    {
      name: 'plugins-and-app-below-the-composition-root',
      severity: 'error',
      comment: 'buildApp and its plugins are given a cluster connection; only server.ts decides where it comes from (and starts the simulator), so tests can build the app against any backend.',
      from: { path: ['^src/plugins/', '^src/app[.]ts$'] },
      to: { path: ['^src/server[.]ts$', '^src/sim/', '^src/ui/'] },
    },
    {
      name: 'sim-imports-nothing-of-the-product',
      severity: 'error',
      comment: 'The simulator is an independent Kubernetes: if it shared code with the product, a bug in that code would agree with itself and the tests would not see it.',
      from: { path: '^src/sim/' },
      to: { path: '^src/', pathNot: '^src/sim/' },
    },
    {
      name: 'only-server-starts-the-sim',
      severity: 'error',
      comment: 'The product never depends on the simulator: server.ts starts it when there is no cluster (and tests start it); nothing else in src imports it.',
      from: { path: '^src/', pathNot: ['^src/sim/', '^src/server[.]ts$'] },
      to: { path: '^src/sim/' },
    },
    {
      name: 'nothing-imports-the-entry',
      severity: 'error',
      comment: 'server.ts is the process entry with side effects (listen, signals): importing it would start a server.',
      from: {},
      to: { path: '^src/server[.]ts$' },
    },
    {
      name: 'ui-is-a-separate-app',
      severity: 'error',
      comment: 'The admin UI runs in the browser and talks to the service over HTTP: it may share the wire shapes (src/schemas) and nothing else, and the service serves its built files, never imports them.',
      from: { path: '^src/ui/' },
      to: { path: '^src/', pathNot: ['^src/ui/', '^src/schemas/'] },
    },
    {
      name: 'product-does-not-import-ui',
      severity: 'error',
      comment: 'The service serves the UI as built files; importing its sources would pull React into the server.',
      from: { path: '^src/', pathNot: '^src/ui/' },
      to: { path: '^src/ui/' },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      comment: 'Test helpers are not shipped; product code that needs one needs it in src.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve fails at run time (ESM with NodeNext: write the .js extension).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|[.]cache)/' },
    // Type-only imports count too (they are dependencies of the design), and are marked so the
    // client-node rule can allow them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
