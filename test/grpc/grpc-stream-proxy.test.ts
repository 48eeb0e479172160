// Issue 24, item 1: a gRPC caller's ModelInfer to an `oip-grpc` backend is
// proxied as an HTTP/2 stream. The upstream here is a raw node:http2 server
// (each test says how it behaves: answers with metadata and trailers, stops
// reading, dies mid-reply), so what crosses the wire is what is asserted:
// the caller's bytes with only the model reference rewritten, the prefix
// adjusted, the reply's headers and trailers as the server sent them.
import { createHash } from 'node:crypto';
import { createServer, type Http2Server, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { peekModelRef, readModelRef } from '../../src/grpc/wire.js';
import type { RequestRecord } from '../../src/observe/record.js';
import { closeSession, inferMessage, prefix, rawCall, rawSession } from './raw-grpc.js';

const MiB = 1024 * 1024;

type Behaviour = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

interface Upstream {
  url: string;
  /** What each ModelInfer stream received: its headers and its whole body (prefix included). */
  received: Array<{ headers: IncomingHttpHeaders; body: Buffer; ended: boolean }>;
  behave(b: Behaviour): void;
  /** Back to answering every call with the hash of what it received. */
  reset(): void;
  close(): Promise<void>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An answer message framed as gRPC sends it. */
const framed = (message: Buffer) => Buffer.concat([prefix(message.length), message]);

async function upstream(): Promise<Upstream> {
  const received: Upstream['received'] = [];
  let behaviour: Behaviour = answer();
  const server: Http2Server = createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const path = headers[':path'];
    if (path !== '/inference.GRPCInferenceService/ModelInfer') {
      // Health checks (ServerReady/ModelReady): ready.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.resume();
      stream.end(framed(Buffer.from([0x08, 0x01]))); // { ready: true }
      return;
    }
    behaviour(stream, headers);
  });
  const recordBody = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const entry = { headers, body: Buffer.alloc(0), ended: false };
    received.push(entry);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    return new Promise<typeof entry>((resolve) => {
      stream.once('end', () => {
        entry.body = Buffer.concat(chunks);
        entry.ended = true;
        resolve(entry);
      });
      stream.once('close', () => {
        entry.body = Buffer.concat(chunks);
        resolve(entry);
      });
    });
  };
  function answer(): Behaviour {
    return (stream, headers) => {
      void recordBody(stream, headers).then((entry) => {
        if (stream.destroyed) return;
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'x-upstream-header': 'h1' },
          { waitForTrailers: true },
        );
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-upstream-trailer': 't1' }));
        // The answer carries the request's hash, so the test sees what arrived.
        stream.end(framed(Buffer.from(sha(entry.body))));
      });
    };
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `grpc://127.0.0.1:${port}`,
    received,
    behave: (b) => (behaviour = b),
    reset: () => (behaviour = answer()),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        setTimeout(r, 500).unref();
      }),
  };
}

let up: Upstream;
let junction: Junction;
const records: RequestRecord[] = [];

beforeAll(async () => {
  up = await upstream();
  junction = await startJunction({
    port: 0,
    grpc: { port: 0 },
    observers: [(r) => records.push(r)],
    config: {
      models: {
        tensor: {
          versions: {
            '3': {
              backend: { type: 'http', protocol: 'oip-grpc', endpoints: [up.url], model: 'resnet', version: '7' },
            },
          },
        },
      },
      objectives: { 'image-labels': { interface: 'oip', default: 'tensor@3', policy: { maxBodyBytes: 80 * MiB } } },
    },
  });
});

afterAll(async () => {
  await junction.close();
  await up.close();
});

afterEach(async () => {
  up.reset();
  await expect.poll(() => junction.dataPlane.bodies!.memory.inUse).toBe(0);
});

const tensorMessage = (size: number, extra: object = {}) =>
  inferMessage({
    model_name: 'image-labels',
    model_version: '',
    id: 'call-1',
    inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: ['1', String(size)] }],
    raw_input_contents: [Buffer.alloc(size, 9)],
    ...extra,
  });

describe('ModelInfer as a stream', () => {
  it('sends the bytes as they came with only the reference rewritten, and passes the reply, its metadata and trailers back', async () => {
    const message = tensorMessage(16 * MiB);
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(message));
      const r = await call.answer;
      expect(r.status).toBe(status.OK);
      expect(r.headers['x-upstream-header']).toBe('h1');
      expect(r.headers['x-model']).toBe('tensor@3');
      expect(r.trailers['x-upstream-trailer']).toBe('t1');
      const got = up.received.at(-1)!;
      // The upstream got one message: a prefix with the new length, the backend's reference, then every other byte.
      expect(got.body.readUInt32BE(1)).toBe(got.body.length - 5);
      const upstreamMessage = got.body.subarray(5);
      expect(readModelRef(upstreamMessage)).toEqual({ name: 'resnet', version: '7' });
      const ref = peekModelRef(message, true)!.end; // the caller's fields 1 and 2
      expect(sha(upstreamMessage.subarray(upstreamMessage.length - (message.length - ref)))).toBe(
        sha(message.subarray(ref)),
      );
      // The answer is the upstream's message, framed as it sent it: the hash of what it received.
      expect(r.data.subarray(5).toString()).toBe(sha(got.body));
      // No caller deadline: the objective's own timeout (timeoutMs, 30 s by default) is the upstream's.
      expect(Number(String(got.headers['grpc-timeout']).slice(0, -1))).toBeLessThanOrEqual(30_000);
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.at(-1)?.status).toBe(200);
  });

  it('carries the caller deadline upstream as grpc-timeout', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session, { 'grpc-timeout': '5S' });
      call.end(framed(tensorMessage(1024)));
      expect((await call.answer).status).toBe(status.OK);
      const sent = String(up.received.at(-1)!.headers['grpc-timeout']);
      expect(sent).toMatch(/^\d+m$/);
      expect(Number(sent.slice(0, -1))).toBeGreaterThan(4000);
      expect(Number(sent.slice(0, -1))).toBeLessThanOrEqual(5000);
    } finally {
      await closeSession(session);
    }
  });

  it('a second model reference later in the message is refused, and the upstream never gets a whole message', async () => {
    // Fields 1 and 2 at the start as every encoder writes them, then a field 1 again at the end (the last wins).
    const smuggled = Buffer.concat([tensorMessage(256 * 1024), inferMessage({ model_name: 'other-model' })]);
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(smuggled));
      const r = await call.answer;
      expect(r.status).toBe(status.INVALID_ARGUMENT);
      expect(r.headers['x-error-code'] ?? r.trailers['x-error-code']).toBe('invalid_request');
      await expect.poll(() => up.received.at(-1)?.ended === false).toBe(true);
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.at(-1)?.errorCode).toBe('invalid_request');
  });

  it('a message shorter than its declared length is refused as truncated, recorded once', async () => {
    const message = tensorMessage(64 * 1024);
    const before = records.length;
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(Buffer.concat([prefix(message.length + 1000), message]));
      const r = await call.answer;
      expect(r.status).toBe(status.INVALID_ARGUMENT);
      expect(up.received.at(-1)?.ended).toBe(false);
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.length).toBe(before + 1);
    expect(records.at(-1)?.errorCode).toBe('invalid_request');
  });

  it('a backend that stops reading slows the caller: flow control holds it to a few windows', async () => {
    let served: ServerHttp2Stream | undefined;
    up.behave((stream) => {
      served = stream;
      stream.pause(); // never reads
    });
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(tensorMessage(48 * MiB)));
      await vi.waitFor(() => expect(served).toBeDefined());
      const written = () => session.socket.bytesWritten;
      // Junction's receive windows (1 MiB per stream) and the upstream's own: far below 48 MiB.
      await new Promise((r) => setTimeout(r, 300));
      const stalled = written();
      await new Promise((r) => setTimeout(r, 300));
      expect(written()).toBe(stalled); // stalled, not trickling into a buffer
      expect(stalled).toBeLessThan(8 * MiB);
      expect(junction.dataPlane.bodies!.memory.inUse).toBeLessThanOrEqual(2 * MiB);
      call.cancel();
      await call.answer;
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => served?.destroyed).toBe(true); // the caller left: the upstream stream was reset
    await expect.poll(() => records.at(-1)?.errorCode).toBe('client_closed');
  });

  it('a reply cut mid-stream is cut for the caller and recorded as a failure', async () => {
    up.behave((stream) => {
      stream.resume();
      stream.once('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(prefix(1000)); // promises 1000 bytes
        stream.write(Buffer.alloc(100, 1), () => stream.close(2 /* INTERNAL_ERROR */));
      });
    });
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(tensorMessage(1024)));
      const r = await call.answer;
      expect(r.status).toBeUndefined(); // no trailers: the stream was reset
      expect(r.rstCode).not.toBe(0);
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.at(-1)?.cut).toBe('upstream_error');
  });

  it('a caller that leaves mid-upload resets the upstream stream, unfinished, and is recorded client_closed', async () => {
    let served: ServerHttp2Stream | undefined;
    let got = 0;
    up.behave((stream) => {
      served = stream;
      stream.on('data', (c: Buffer) => (got += c.length));
      stream.on('end', () => (got = -1)); // must never happen
    });
    const message = tensorMessage(8 * MiB);
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.write(framed(message).subarray(0, 2 * MiB));
      await vi.waitFor(() => expect(got).toBeGreaterThan(MiB));
      call.cancel();
      await call.answer;
      await expect.poll(() => served?.destroyed).toBe(true);
      expect(got).toBeGreaterThan(0); // it got bytes, never their end
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.at(-1)?.cut ?? records.at(-1)?.errorCode).toBe('client_closed');
  });

  it('a backend that resets the stream mid-upload fails the call upstream_error, and the caller stops sending', async () => {
    up.behave((stream) => {
      let seen = 0;
      stream.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen > MiB && !stream.destroyed) stream.close(2 /* INTERNAL_ERROR */);
      });
    });
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(tensorMessage(32 * MiB)));
      const r = await call.answer;
      expect(r.status).toBe(status.UNAVAILABLE);
      expect(r.headers['x-error-code'] ?? r.trailers['x-error-code']).toBe('upstream_error');
      expect(session.socket.bytesWritten).toBeLessThan(16 * MiB); // refused mid-upload: the rest was never read
    } finally {
      await closeSession(session);
    }
    await expect.poll(() => records.at(-1)?.errorCode).toBe('upstream_error');
  });

  it('an HTTP caller that posts the protobuf message gets the answer message whole, not a gRPC stream', async () => {
    const message = tensorMessage(64 * 1024);
    const res = await request(`${junction.url}/v2/models/image-labels/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc' },
      body: message,
    });
    expect(res.statusCode).toBe(200);
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(body.toString()).toBe(sha(up.received.at(-1)!.body)); // unframed: the message alone
  });

  it('a replica answering plain HTTP 503 is UNAVAILABLE upstream_error, as gRPC maps it', async () => {
    up.behave((stream) => {
      stream.resume();
      stream.once('end', () => stream.respond({ ':status': 503, 'content-type': 'text/plain' }, { endStream: true }));
    });
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(tensorMessage(1024)));
      const r = await call.answer;
      expect(r.status).toBe(status.UNAVAILABLE);
      expect(r.headers['x-error-code'] ?? r.trailers['x-error-code']).toBe('upstream_error');
    } finally {
      await closeSession(session);
    }
  });

  it('a message whose first bytes are exactly a long model name (past the peek size) is routed, not a crash', async () => {
    const session = rawSession(junction.grpc!.port);
    try {
      const head = inferMessage({ model_name: 'n'.repeat(5000) }); // field 1 alone: 5,003 bytes
      const call = rawCall(session);
      call.write(Buffer.concat([prefix(head.length + 100), head])); // more declared; only the name sent, then a wait
      const r = await call.answer;
      expect(r.status).toBe(status.NOT_FOUND); // no such objective: answered before the rest is read
    } finally {
      await closeSession(session);
    }
  });

  it("the server's own status passes through (trailers-only)", async () => {
    up.behave((stream) => {
      stream.resume();
      stream.once('end', () =>
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '3', 'grpc-message': 'bad%20shape' },
          { endStream: true },
        ),
      );
    });
    const session = rawSession(junction.grpc!.port);
    try {
      const call = rawCall(session);
      call.end(framed(tensorMessage(1024)));
      const r = await call.answer;
      expect(r.status).toBe(status.INVALID_ARGUMENT);
      expect(decodeURIComponent(String(r.headers['grpc-message'] ?? r.trailers['grpc-message']))).toBe('bad shape');
    } finally {
      await closeSession(session);
    }
  });
});
