// The import rules of docs/ARCHITECTURE.md, checked by `npm run check`. This file is
// their source of truth: the document explains them, a broken rule fails the check
// and prints the comment below as its reason. Type-only imports count too.
const layer = {
  roots: '^src/(main|compose|roller-main|log-keeper-main)[.]ts$',
  http: '^src/http/',
  services: '^src/(ingest|query|roller)/',
  wire: '^src/(prometheus|promql|otlp)/',
  storageAdapters: '^src/storage/(cassandra|memory)/',
  storage: '^src/storage/',
  pure: '^src/(domain|time|rollup)/|^src/(errors|concurrency|work-scope|config|config-settings|config-reader|consistency|log|media-type)[.]ts$',
  tools: '^src/(cli|devstack|ops)/',
};

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules form layers; a cycle means two of them are one idea split in two, or one reaches up.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-never-imports-bench',
      severity: 'error',
      comment: 'bench/ measures the program from outside; the program must build and run without it.',
      from: { path: '^src/' },
      to: { path: '^bench/' },
    },
    {
      name: 'bench-uses-public-surfaces',
      severity: 'error',
      comment:
        "bench/ may use only its public surfaces: config.ts, the worker as composed (compose.ts, over the in-memory store for the in-process overhead scenario), the Cassandra adapter (client.ts, point-store.ts) for the driver's ceiling, the wire's parsers (http/point-input, validate-points, search-params; prometheus/remote-write's schema) and the pure pieces (domain/, time/, rollup/, concurrency.ts, write-holds.ts: when the roller may roll a write). It drives the service over HTTP and the driver, not its insides.",
      from: { path: '^bench/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/(config|compose)[.]ts$',
          '^src/storage/memory/in-memory-point-store[.]ts$',
          '^src/storage/cassandra/(client|point-store)[.]ts$',
          '^src/http/(point-input|validate-points|search-params)[.]ts$',
          '^src/prometheus/remote-write[.]ts$',
          '^src/(domain|time|rollup)/',
          '^src/concurrency[.]ts$',
          '^src/write-holds[.]ts$',
        ],
      },
    },
    {
      name: 'pure-core-imports-nothing-above',
      severity: 'error',
      comment:
        'domain/, time/, rollup/ and the shared modules (errors, config, concurrency, log...) are pure and imported by all: they must not reach into the wire, the services, storage or the tools.',
      from: { path: layer.pure },
      to: { path: `${layer.http}|${layer.services}|${layer.wire}|${layer.storage}|${layer.tools}|${layer.roots}` },
    },
    {
      name: 'storage-imports-no-service',
      severity: 'error',
      comment: 'storage/ implements the ports for the services; it never knows who calls it (no service, no http/).',
      from: { path: layer.storage },
      to: { path: `${layer.http}|${layer.services}|${layer.wire}|${layer.roots}|${layer.tools}` },
    },
    {
      name: 'services-use-the-ports',
      severity: 'error',
      comment:
        'ingest/, query/, roller/, prometheus/ and promql/ see storage only through storage/ports.ts, so the in-memory and the Cassandra adapters are interchangeable.',
      from: { path: `${layer.services}|${layer.wire}` },
      to: { path: layer.storageAdapters },
    },
    {
      name: 'services-are-apart',
      severity: 'error',
      comment:
        'ingest/, query/ and roller/ never import each other: what they share lives below them (rollup/, domain/, storage/ports.ts).',
      from: { path: '^src/(ingest|query|roller)/' },
      to: { path: '^src/(ingest|query|roller)/', pathNot: '^src/$1/' },
    },
    {
      name: 'services-below-the-wire',
      severity: 'error',
      comment: 'Services know nothing of HTTP or of a protocol: http/ calls them, not the reverse.',
      from: { path: layer.services },
      to: { path: `${layer.http}|${layer.wire}|${layer.roots}|${layer.tools}` },
    },
    {
      name: 'protocols-below-http',
      severity: 'error',
      comment:
        "prometheus/ and promql/ turn a protocol's bytes or text into the domain's values; they do not import http/ nor the services (promql reads samples through the source it declares, wired in compose.ts).",
      from: { path: layer.wire },
      to: { path: `${layer.http}|${layer.services}|${layer.roots}|${layer.tools}` },
    },
    {
      name: 'http-above-storage-adapters',
      severity: 'error',
      comment:
        'http/ imports the services and the ports, never a storage adapter nor a storage constant: what a request may name is checked by the service that owns it.',
      from: { path: layer.http },
      to: { path: layer.storage, pathNot: '^src/storage/(ports|disk-report)[.]ts$' },
    },
    {
      name: 'nothing-runs-the-tools',
      severity: 'error',
      comment: 'cli/, devstack/ and ops/ are what ./meetr runs; the worker, roller and services never import them.',
      from: {
        path: `${layer.http}|${layer.services}|${layer.wire}|${layer.storage}|${layer.pure}|${layer.roots}`,
        pathNot: '^src/log-keeper-main[.]ts$',
      },
      to: { path: layer.tools },
    },
    {
      name: 'roots-are-not-imported',
      severity: 'error',
      comment: 'main.ts, compose.ts, roller-main.ts and log-keeper-main.ts wire everything; nothing imports them.',
      from: { path: '^src/', pathNot: '^src/(main|roller-main)[.]ts$' },
      to: { path: layer.roots },
    },
    {
      name: 'cassandra-driver-in-the-adapter',
      severity: 'error',
      comment:
        'The driver (Client, Long, Row, CQL) stays in storage/cassandra/; everything else speaks the ports, in milliseconds.',
      from: { path: '^(src|bench)/', pathNot: '^src/storage/cassandra/' },
      to: { path: 'node_modules/cassandra-driver/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
