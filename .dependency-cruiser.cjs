// The layers of src/ (docs/architecture.md, "Layers"), checked by
// dependency-cruiser in `npm test` (src/layers.test.ts) and by `npm run layers`.
//
// Bottom to top; a module may import its own layer or a lower one, never a higher one:
//
//   0 errors     src/errors.ts: the error vocabulary; imports nothing from src/
//     stats      src/stats/: pure statistics (readouts, gates, the console's sample-ratio check)
//   1 config     src/config/: the schema, loading, validation
//   2 routing    src/routing/: the pure routing core (no I/O, importable alone)
//   3 contract   src/call/ (Call, Reply, Send, Policy, Admission, Logger),
//                src/observe/record.ts (the request-ended record) and
//                src/observe/telemetry.ts (the events policies and backends report)
//   4 services   src/observe/, src/grpc/ (the OIP gRPC service: definition, wire rewrite, statuses),
//                src/backends/, src/policy/, src/tenancy/, src/readout/ (experiment readouts, DuckDB)
//   5 runtime    src/runtime/: a live revision and the swap between them
//   6 surfaces   src/http/ (the HTTP layer every listener shares: request boundary, router,
//                listener, body reader, reply and error writers), src/faces/ (the data
//                plane's faces), src/control/ (control plane)
//   7 assembly   src/app.ts, src/index.ts (the package entry point), src/cli/
//
// Inside layers 4 and 6 the folders are ordered too, so no two folders form a
// cycle: observe < grpc < backends < policy < tenancy < readout, and http < faces < control
// (control/ imports nothing from faces/). Type-only imports count
// (tsPreCompilationDeps): a type cycle is a cycle. With every module in one
// layer and the layers in one order, no two folders can form a cycle (the two
// observe/ files of the contract are the exception that keeps the order: they
// import only layers 0-3); `no-circular` forbids circles between the modules
// of one folder too.

const CONTRACT = '^src/(call/|observe/(record|telemetry)\\.ts$)';

const LAYERS = [
  ['errors', '^src/errors\\.ts$'],
  ['stats', '^src/stats/'],
  ['config', '^src/config/'],
  ['routing', '^src/routing/'],
  ['contract', CONTRACT],
  ['observe', '^src/observe/(?!(record|telemetry)\\.ts$)'],
  ['grpc', '^src/grpc/'],
  ['backends', '^src/backends/'],
  ['policy', '^src/policy/'],
  ['tenancy', '^src/tenancy/'],
  ['readout', '^src/readout/'],
  ['runtime', '^src/runtime/'],
  ['http', '^src/http/'],
  ['faces', '^src/faces/'],
  ['control', '^src/control/'],
  ['assembly', '^src/(app\\.ts$|index\\.ts$|cli/)'],
];

// Every layer may import itself and what is listed before it, nothing after.
const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}`,
  comment: `${name} (${path}) is below ${LAYERS.slice(i + 1)
    .map(([n]) => n)
    .join(', ')}: it may not import them`,
  severity: 'error',
  from: { path, pathNot: '\\.test\\.ts$' },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

// Modules that reach outside the process (files, sockets, child processes,
// stores, model runtimes). The routing core imports none of them, even
// indirectly, so it can be bundled into a client SDK and run anywhere.
const IO_MODULES = [
  '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|tls|child_process|cluster|worker_threads|readline|os|process)$',
  '^(undici|pg|ioredis|better-sqlite3|onnxruntime-node|pino|prom-client|@opentelemetry/.*|@grpc/.*|@duckdb/.*)$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'routing-no-io',
      comment: 'src/routing/ is pure: no module that does I/O, directly or through another module',
      severity: 'error',
      from: { path: '^src/routing/', pathNot: '\\.test\\.ts$' },
      to: { reachable: true, path: IO_MODULES },
    },
    {
      name: 'routing-alone',
      comment: 'src/routing/ needs only itself, the config types and the error vocabulary (the SDK bundles it)',
      severity: 'error',
      from: { path: '^src/routing/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(routing/|errors\\.ts$|config/schema\\.ts$)' },
    },
    {
      name: 'no-circular',
      comment:
        'no module reaches itself through its imports, inside a folder or across folders (type-only imports count)',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { circular: true },
    },
    {
      name: 'in-a-layer',
      comment: 'every module of src/ belongs to a layer: add a new folder to LAYERS',
      severity: 'error',
      from: { path: '^src/', pathNot: ['\\.test\\.ts$', ...LAYERS.map(([, p]) => p)] },
      to: {},
    },
    {
      name: 'src-not-to-tests',
      comment: 'production code does not import tests or test support',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '(\\.test\\.ts$|^test/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
