// Bad input on the gRPC listener, generated: gRPC messages with random length
// prefixes and compression flags, truncated or trailing bytes, bogus content
// types, paths, encodings and timeouts, with and without a key; and raw HTTP/2
// frames after the connection preface. No input may crash the process or leave
// an unhandled error behind; every call ends with a gRPC status (or HTTP's 415
// for what is not gRPC, or a reset stream or GOAWAY); the shared body budget
// is back to 0 once the calls are gone; and the listener keeps serving.
import { connect as netConnect } from 'node:net';
import { gzipSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { startGrpcModelServer, type GrpcModelServer } from '../support/servers/grpc-oip.js';
import { closeSession, inferMessage, prefix, rawCall, rawSession } from '../grpc/raw-grpc.js';

const unhandled: unknown[] = [];
const onError = (err: unknown) => unhandled.push(err);

let triton: GrpcModelServer;
let j: Junction;

beforeAll(async () => {
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  triton = await startGrpcModelServer({ simple: ['1'] });
  j = await startJunction({
    port: 0,
    grpc: { port: 0, maxMessageBytes: 64 * 1024 },
    server: { maxBufferedBytes: 256 * 1024 },
    config: {
      models: {
        simple: { versions: { '1': { backend: { type: 'http', protocol: 'oip-grpc', endpoints: [triton.url] } } } },
      },
      objectives: { obj: { interface: 'oip', default: 'simple@1', policy: { maxBodyBytes: 16 * 1024 } } },
      clients: { app: { keySha256: keyDigest('k') } },
    },
  });
});

afterAll(async () => {
  await j.close();
  await triton.close();
  process.off('unhandledRejection', onError);
  process.off('uncaughtException', onError);
  expect(unhandled).toEqual([]);
});

const METHODS = ['ModelInfer', 'ModelReady', 'ModelMetadata', 'ServerLive', 'ServerReady', 'ServerMetadata'];

/** One message on the wire: a prefix (any flag, any length) and bytes that may be fewer or more than it says. */
const frame = fc.record({
  flag: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 255 })),
  length: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 0xffffffff })),
  body: fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
    // A real ModelInfer for the objective, sometimes with a tensor past its limit.
    fc
      .integer({ min: 0, max: 40 * 1024 })
      .map((n) => inferMessage({ model_name: 'obj', raw_input_contents: [Buffer.alloc(n, 1)] })),
  ),
  /** Write the prefix the body's own length (a well-formed message) rather than `length`. */
  honest: fc.boolean(),
  compress: fc.constantFrom('none', 'gzip', 'deflate'),
});

const call = fc.record({
  path: fc.oneof(
    fc.constantFrom(...METHODS).map((m) => `/inference.GRPCInferenceService/${m}`),
    fc.constantFrom('/', '/inference.GRPCInferenceService/', '/x/ModelInfer', '/inference.GRPCInferenceService/Nope'),
  ),
  contentType: fc.constantFrom('application/grpc', 'application/grpc+proto', 'application/json', 'text/plain', ''),
  encoding: fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'snappy', ''),
  timeout: fc.constantFrom(undefined, '50m', '2S', 'bogus', '999999999S'),
  key: fc.constantFrom(undefined, 'Bearer k', 'Bearer wrong'),
  frames: fc.array(frame, { maxLength: 3 }),
  ending: fc.constantFrom('end', 'end', 'cancel'),
});

describe('the gRPC listener under generated input', () => {
  it('answers every call with a gRPC status or refuses it, and gives the budget back', async () => {
    await fc.assert(
      fc.asyncProperty(call, async (c) => {
        const session = rawSession(j.grpc!.port);
        try {
          const headers: Record<string, string> = { 'content-type': c.contentType };
          if (c.encoding !== undefined) headers['grpc-encoding'] = c.encoding;
          if (c.timeout !== undefined) headers['grpc-timeout'] = c.timeout;
          if (c.key !== undefined) headers.authorization = c.key;
          const r = rawCall(session, headers, c.path);
          for (const f of c.frames) {
            const body =
              f.compress === 'gzip' ? gzipSync(f.body) : f.compress === 'deflate' ? deflateSync(f.body) : f.body;
            r.write(Buffer.concat([prefix(f.honest ? body.length : f.length, f.flag), body]));
          }
          if (c.ending === 'cancel') r.cancel();
          else r.end();
          const a = await r.answer;
          if (c.ending === 'cancel' && a.status === undefined) return; // the caller left first: nothing to answer
          const answered =
            (a.status !== undefined && a.status >= 0 && a.status <= 16) ||
            Number(a.headers[':status']) === 415 ||
            a.rstCode !== 0;
          expect(answered, JSON.stringify(a.headers)).toBe(true);
          if (a.status !== undefined && a.status !== 0)
            expect(a.headers['x-error-code'] ?? a.trailers['x-error-code']).toBeTruthy();
        } finally {
          await closeSession(session);
        }
      }),
      { numRuns: 150 },
    );
    await expect.poll(() => j.dataPlane.bodies!.memory.inUse).toBe(0);
    await expectServing();
  });

  it('raw HTTP/2 frames end in GOAWAY or a closed connection, never a crash', async () => {
    const rawFrame = fc
      .record({
        type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 255 })),
        flags: fc.integer({ min: 0, max: 255 }),
        stream: fc.oneof(fc.constantFrom(0, 1, 3, 2), fc.integer({ min: 0, max: 0x7fffffff })),
        payload: fc.uint8Array({ maxLength: 64 }),
        lie: fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }),
      })
      .map((f) => {
        const head = Buffer.alloc(9);
        head.writeUIntBE(f.lie ?? f.payload.length, 0, 3);
        head[3] = f.type;
        head[4] = f.flags;
        head.writeUInt32BE(f.stream, 5);
        return Buffer.concat([head, Buffer.from(f.payload)]);
      });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(rawFrame, { maxLength: 6 }), async (preface, frames) => {
        await rawExchange(
          Buffer.concat([
            preface ? Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') : Buffer.alloc(0),
            // An empty SETTINGS frame first, as a client starts, half the time.
            ...(preface ? [Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])] : []),
            ...frames,
          ]),
        );
      }),
      { numRuns: 150 },
    );
    await expectServing();
  });
});

/**
 * A connection error every HTTP/2 server must answer with GOAWAY: 16 KiB of
 * zeros (the most any frame begun above may still be waiting for) and then,
 * at the latest, a DATA frame on stream 0. Nothing is left to time out.
 */
const TERMINATOR = Buffer.alloc(16 * 1024 + 9 + 9);
const GOAWAY = 7;

/**
 * Writes the bytes and a connection error; resolves when the server has sent
 * GOAWAY (read from its frames) or closed the connection, then closes it.
 */
function rawExchange(bytes: Buffer): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = netConnect(j.grpc!.port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // The server's frames: 3 bytes of length, then the type.
      for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) {
        if (received[at + 3] === GOAWAY) return done();
      }
    });
    socket.once('close', done);
    socket.end(Buffer.concat([bytes, TERMINATOR]));
  });
}

async function expectServing(): Promise<void> {
  const session = rawSession(j.grpc!.port);
  try {
    const r = rawCall(session, {}, '/inference.GRPCInferenceService/ServerLive');
    r.end(Buffer.concat([prefix(0), Buffer.alloc(0)]));
    const a = await r.answer;
    expect(a.status).toBe(0);
    expect(a.data.subarray(5)).toEqual(Buffer.from([0x08, 0x01])); // ServerLiveResponse { live: true }
  } finally {
    await closeSession(session);
  }
}
