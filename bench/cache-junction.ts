// One Junction for bench/cache.ts, run as plain JavaScript (compiled() bundles
// src/ with it, as dist/ would run): `node cache-junction.mjs PORT CONFIG DECISION_LOG`.
// Metrics and the decision log on, as in the proxy bench.
import { startJunction } from '../src/app.js';

const [port, configFile, decisionLog] = process.argv.slice(2);
await startJunction({ port: Number(port), host: '127.0.0.1', configFile, decisionLog, tracing: false });
