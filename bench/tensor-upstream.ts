// The model server of bench/tensors.ts, in a process of its own: the digest
// OIP server of the tests (hashes each body as it streams, answers in the
// binary data extension). `node tensor-upstream.mjs PORT` (compiled by
// bench/tools.ts `compiled`, as the bare proxy is).
import { startDigestServer } from '../test/support/servers/oip-digest.js';

await startDigestServer({ port: Number(process.argv[2]) });
