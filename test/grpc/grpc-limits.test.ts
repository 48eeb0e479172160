// Issue 22, finding 1 (keyless memory exhaustion on the gRPC face) and 11b (one
// rule for the caller's deadline), over real sockets: a caller without a key
// never has its message read; a declared length is judged before the bytes
// come; messages are held against the data plane's one body budget; a
// compressed message is inflated no further than its limit.
import { gzipSync } from 'node:zlib';
import { credentials, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import type { RequestRecord } from '../../src/observe/record.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { oipClient, type OipClient } from '../support/grpc-client.js';
import { startGrpcModelServer, type GrpcModelServer } from '../support/servers/grpc-oip.js';
import { closeSession, inferMessage, INFER_PATH, prefix, rawCall, rawSession } from './raw-grpc.js';

const MiB = 1024 * 1024;
const KEY = 'Bearer secret-key';
const grpcBackend = (url: string) => ({ backend: { type: 'http', protocol: 'oip-grpc', endpoints: [url] } });

/** A ModelInfer naming `objective` whose raw tensor makes it `size` bytes or a little more. */
const bigMessage = (objective: string, size: number) =>
  inferMessage({
    model_name: objective,
    inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(size)] }],
    raw_input_contents: [Buffer.alloc(size, 7)],
  });

let triton: GrpcModelServer;
let junction: Junction;
let client: OipClient;
const records: RequestRecord[] = [];

beforeAll(async () => {
  triton = await startGrpcModelServer({ simple: ['1'] });
  junction = await startJunction({
    port: 0,
    grpc: { port: 0 },
    server: { maxBufferedBytes: 12 * MiB },
    observers: [(r) => records.push(r)],
    config: {
      models: { simple: { versions: { '1': grpcBackend(triton.url) } } },
      objectives: {
        identity: { interface: 'oip', default: 'simple@1', policy: { maxBodyBytes: 40 * MiB } },
        tight: { interface: 'oip', default: 'simple@1', policy: { maxBodyBytes: 1000 } },
        mid: { interface: 'oip', default: 'simple@1', policy: { maxBodyBytes: MiB } },
        // A policy that may send the message again: it is read whole (and reserved whole) first.
        resent: {
          interface: 'oip',
          default: 'simple@1',
          policy: { maxBodyBytes: 40 * MiB, retries: 1, idempotent: true },
        },
      },
      clients: { app: { keySha256: keyDigest('secret-key') } },
    },
  });
  client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
  // Calls below reach the backend: wait until its first health check found it up.
  await vi.waitFor(
    async () => {
      if ((await client.call('ServerReady', {})).value?.ready !== true) throw new Error('not ready yet');
    },
    { timeout: 10_000, interval: 20 },
  );
});

afterAll(async () => {
  client.close();
  await junction.close();
  await triton.close();
});

const budget = () => junction.dataPlane.bodies!.memory;

/** The highest the shared budget stood while `run` ran. */
async function peakBudget<T>(run: () => Promise<T>): Promise<{ result: T; peak: number }> {
  const memory = budget();
  const take = memory.take.bind(memory);
  let peak = memory.inUse;
  memory.take = (n: number) => {
    const ok = take(n);
    peak = Math.max(peak, memory.inUse);
    return ok;
  };
  try {
    return { result: await run(), peak };
  } finally {
    delete (memory as { take?: unknown }).take; // the prototype's again
  }
}

afterEach(async () => {
  // Whatever a test did, every byte it held of the budget is back once its calls closed.
  await expect.poll(() => budget().inUse).toBe(0);
});

describe('a caller without a key', () => {
  it('is refused UNAUTHENTICATED before its 32 MiB message is read', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session); // no authorization
      call.end(Buffer.concat([prefix(32 * MiB), Buffer.alloc(32 * MiB, 1)]));
      const { peak, result } = await peakBudget(() => call.answer);
      expect(result.status).toBe(status.UNAUTHENTICATED);
      expect(result.headers['x-error-code']).toBe('unauthorized');
      expect(peak).toBe(0);
      // HTTP/2 flow control: the caller could push one stream window (1 MiB) before it was refused, not 32 MiB.
      expect(session.socket.bytesWritten).toBeLessThan(4 * MiB);
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.at(-1)?.errorCode).toBe('unauthorized');
    expect(records.at(-1)).toMatchObject({ status: 401, path: INFER_PATH });
  });

  it('a real gRPC client gets UNAUTHENTICATED for a large message, with its key it is served', async () => {
    const message = { model_name: 'identity', inputs: [], raw_input_contents: [Buffer.alloc(32 * MiB, 2)] };
    const anonymous = await client.call('ModelInfer', message);
    expect(anonymous.error?.code).toBe(status.UNAUTHENTICATED);
    expect(anonymous.metadata['x-error-code']).toBe('unauthorized');
    const ok = await client.call('ModelInfer', { model_name: 'identity', inputs: [] }, { authorization: KEY });
    expect(ok.error).toBeUndefined();
  });

  it('a gzip message is refused as soon, never inflated', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      const bomb = gzipSync(bigMessage('identity', 16 * MiB));
      const call = rawCall(session, { 'grpc-encoding': 'gzip' });
      call.end(Buffer.concat([prefix(bomb.length, 1), bomb]));
      const { peak, result } = await peakBudget(() => call.answer);
      expect(result.status).toBe(status.UNAUTHENTICATED);
      expect(peak).toBe(0);
    } finally {
      await closeSession(session);
    }
  });
});

describe('message limits, from the declared length', () => {
  it("refuses a declared length over the objective's maxBodyBytes before the bytes come", async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      const head = inferMessage({ model_name: 'tight' }); // field 1 first, as every encoder writes it
      const call = rawCall(session, { authorization: KEY });
      // 10 MiB declared; only the model name is sent, and the stream stays open: the answer cannot wait for the rest.
      call.write(Buffer.concat([prefix(10 * MiB), head]));
      const r = await call.answer;
      expect(r.status).toBe(status.RESOURCE_EXHAUSTED);
      expect(r.headers['x-error-code']).toBe('payload_too_large');
      expect(decodeURIComponent(String(r.headers['grpc-message']))).toMatch(/objective's limit \(1000 bytes\)/);
    } finally {
      await closeSession(session);
    }
  });

  it("refuses a declared length over the listener's limit from the prefix alone", async () => {
    const small = await startJunction({
      port: 0,
      grpc: { port: 0, maxMessageBytes: 4096 },
      config: {
        models: { simple: { versions: { '1': grpcBackend(triton.url) } } },
        objectives: { identity: { interface: 'oip', default: 'simple@1' } },
      },
    });
    const session = rawSession(small.grpc!.port);
    try {
      const call = rawCall(session);
      call.write(prefix(5000));
      const r = await call.answer;
      expect(r.status).toBe(status.RESOURCE_EXHAUSTED);
      expect(r.headers['x-error-code']).toBe('payload_too_large');
    } finally {
      await closeSession(session);
      await small.close();
    }
  });

  it('a gzip message that inflates past its limit is cut at the limit, its inflated bytes counted', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      // 32 MiB that gzip to about 32 KiB, for an objective that takes 1 MiB.
      const bomb = gzipSync(bigMessage('mid', 32 * MiB));
      expect(bomb.length).toBeLessThan(64 * 1024);
      const call = rawCall(session, { authorization: KEY, 'grpc-encoding': 'gzip' });
      call.end(Buffer.concat([prefix(bomb.length, 1), bomb]));
      const { peak, result } = await peakBudget(() => call.answer);
      expect(result.status).toBe(status.RESOURCE_EXHAUSTED);
      expect(result.headers['x-error-code']).toBe('payload_too_large');
      // Held: the compressed bytes and what was inflated, never more than the objective's limit and one chunk.
      expect(peak).toBeGreaterThan(bomb.length);
      expect(peak).toBeLessThanOrEqual(bomb.length + MiB + 64 * 1024);
    } finally {
      await closeSession(session);
    }
  });

  it('a gzip message within its limit is inflated and served, as a real client compresses it', async () => {
    const { loadPackageDefinition } = await import('@grpc/grpc-js');
    const { loadSync } = await import('@grpc/proto-loader');
    const { LOADER_OPTIONS, PROTO_PATH } = await import('../../src/grpc/service.js');
    const pkg = loadPackageDefinition(loadSync(PROTO_PATH, LOADER_OPTIONS)) as any;
    const gzipClient: Client & Record<string, any> = new pkg.inference.GRPCInferenceService(
      `127.0.0.1:${junction.grpc!.port}`,
      credentials.createInsecure(),
      { 'grpc.default_compression_algorithm': 2, 'grpc.max_receive_message_length': 64 * MiB },
    );
    try {
      const md = new Metadata();
      md.set('authorization', KEY);
      const value = await new Promise<any>((resolve, reject) =>
        gzipClient.ModelInfer(
          {
            model_name: 'identity',
            inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(2 * MiB)] }],
            raw_input_contents: [Buffer.alloc(2 * MiB, 3)],
          },
          md,
          (err: ServiceError | null, v: unknown) => (err ? reject(err) : resolve(v)),
        ),
      );
      expect(value.raw_output_contents[0].length).toBe(2 * MiB);
    } finally {
      gzipClient.close();
    }
  });
});

describe('the shared body budget', () => {
  it('messages read whole beyond maxBufferedBytes together are refused overloaded, and the budget comes back', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      // The name and the field after it: the reference is whole, so the call is routed on these bytes.
      const head = inferMessage({ model_name: 'resent', id: 'held' });
      // The first call declares 8 MiB of the 12 MiB budget and sends only its first bytes: reserved, held open.
      const first = rawCall(session, { authorization: KEY });
      first.write(Buffer.concat([prefix(8 * MiB), head]));
      await expect.poll(() => budget().inUse).toBe(8 * MiB);
      // The second's 8 MiB do not fit beside it: refused now, not queued, not buffered.
      const second = rawCall(session, { authorization: KEY });
      second.write(Buffer.concat([prefix(8 * MiB), head]));
      const refused = await second.answer;
      expect(refused.status).toBe(status.UNAVAILABLE);
      expect(refused.headers['x-error-code']).toBe('overloaded');
      expect(refused.headers['retry-after']).toBe('1');
      expect(budget().inUse).toBe(8 * MiB);
      // The first caller leaves: its share is given back.
      first.cancel();
      await first.answer;
      await expect.poll(() => budget().inUse).toBe(0);
    } finally {
      await closeSession(session);
    }
  });

  it('a streamed message holds a window of the budget, not its length, and gives it back', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      const head = inferMessage({ model_name: 'identity', id: 'held' });
      // Two calls declare 8 MiB each (more than the 12 MiB budget together) and send only their first bytes.
      const calls = [rawCall(session, { authorization: KEY }), rawCall(session, { authorization: KEY })];
      for (const c of calls) c.write(Buffer.concat([prefix(8 * MiB), head]));
      // Both stream to the backend: each holds 2 MiB (its receive window and a read buffer), none is refused.
      await expect.poll(() => budget().inUse).toBe(4 * MiB);
      for (const c of calls) c.cancel();
      await Promise.all(calls.map((c) => c.answer));
    } finally {
      await closeSession(session);
    }
  });

  it('large messages from a real client run concurrently within the budget and give it all back', async () => {
    const calls = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.call(
          'ModelInfer',
          {
            model_name: 'identity',
            inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(5 * MiB)] }],
            raw_input_contents: [Buffer.alloc(5 * MiB, 4)],
          },
          { authorization: KEY },
        ),
      ),
    );
    const codes = calls.map((c) => c.error?.code ?? status.OK);
    // Two 5 MiB messages fit the 12 MiB budget at a time: the others are served or refused overloaded, never more held.
    for (const c of calls) if (c.error) expect(c.metadata['x-error-code']).toBe('overloaded');
    expect(codes).toContain(status.OK);
  });
});

describe("the caller's deadline", () => {
  it('a call whose deadline passes is recorded 504 deadline_exceeded, every time', async () => {
    triton.delayMs = 1000;
    try {
      records.length = 0;
      for (let i = 0; i < 6; i++) {
        const r = await client.call('ModelInfer', { model_name: 'identity' }, { authorization: KEY }, 150 + 10 * i);
        expect(r.error?.code).toBe(status.DEADLINE_EXCEEDED);
      }
      await expect.poll(() => records.length).toBe(6);
      for (const r of records)
        expect(r).toMatchObject({ objective: 'identity', status: 504, errorCode: 'deadline_exceeded' });
    } finally {
      triton.delayMs = 0;
    }
  });

  it('a deadline that passes while the message is still arriving ends the call the same way', async () => {
    records.length = 0;
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session, { authorization: KEY, 'grpc-timeout': '100m' });
      call.write(Buffer.concat([prefix(4096), inferMessage({ model_name: 'identity' })]));
      const r = await call.answer;
      expect(r.status).toBe(status.DEADLINE_EXCEEDED);
      expect(r.headers['x-error-code']).toBe('deadline_exceeded');
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ status: 504, errorCode: 'deadline_exceeded' });
  });
});
