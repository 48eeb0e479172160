// A gRPC call made by hand over node:http2, for tests of what a gRPC library
// would never send: a declared length and no message, a message cut short, a
// compression flag without an encoding, a body the server must refuse unread.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { loadOipGrpcService } from '../../src/grpc/service.js';

const service = loadOipGrpcService();

const SLICE = 64 * 1024;

export const INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';

/** A ModelInferRequest's bytes. */
export const inferMessage = (value: object): Buffer => service.decoded.ModelInfer!.requestSerialize(value);

/** gRPC's 5-byte prefix: a compression flag and a length. */
export function prefix(length: number, flag = 0): Buffer {
  const p = Buffer.alloc(5);
  p[0] = flag;
  p.writeUInt32BE(length, 1);
  return p;
}

export interface RawAnswer {
  /** The response headers (with grpc-status when the answer is trailers-only). */
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  data: Buffer;
  /** grpc-status from the trailers or a trailers-only answer; undefined if the stream ended without one. */
  status: number | undefined;
  /** The stream's RST_STREAM code (0 when none or NO_ERROR). */
  rstCode: number;
}

export interface RawCall {
  /** Resolves once the server answered and the stream closed. */
  answer: Promise<RawAnswer>;
  /** Sends `bytes` on the stream (the caller decides when to end). */
  write(bytes: Buffer): void;
  end(bytes?: Buffer): void;
  /** The caller gives up: RST_STREAM CANCEL. */
  cancel(): void;
}

export function rawSession(port: number): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return session;
}

/** Opens one call; headers default to a valid ModelInfer's. */
export function rawCall(session: ClientHttp2Session, headers: Record<string, string> = {}, path = INFER_PATH): RawCall {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  stream.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let responseHeaders: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders = {};
  stream.on('response', (h) => {
    responseHeaders = h;
  });
  stream.on('trailers', (t) => {
    trailers = t;
  });
  stream.on('data', (c: Buffer) => chunks.push(c));
  // Written in slices, waiting for 'drain' as a real client does (node:http2 refuses incoming frames
  // while more than maxSessionMemory waits to be sent, which would hide the server's answer).
  let writing = Promise.resolve();
  const send = (bytes: Buffer, end: boolean) => {
    writing = writing.then(async () => {
      for (let at = 0; at < bytes.length && !stream.destroyed; at += SLICE) {
        if (!stream.write(bytes.subarray(at, at + SLICE))) {
          await new Promise<void>((resolve) => {
            const go = () => {
              stream.off('drain', go);
              stream.off('close', go);
              resolve();
            };
            stream.once('drain', go);
            stream.once('close', go);
          });
        }
      }
      if (end && !stream.destroyed) stream.end();
    });
  };
  const answer = new Promise<RawAnswer>((resolve) => {
    const done = () => {
      const status = trailers['grpc-status'] ?? responseHeaders['grpc-status'];
      resolve({
        headers: responseHeaders,
        trailers,
        data: Buffer.concat(chunks),
        status: status === undefined ? undefined : Number(status),
        rstCode: stream.rstCode ?? 0,
      });
      // A server that answered and reset the stream (NO_ERROR) while this side still had bytes to send:
      // node:http2 keeps such a stream open for the unsent bytes; they are never going anywhere.
      if (!stream.destroyed) stream.destroy();
    };
    stream.once('end', done); // the answer is whole (trailers-only, or trailers)
    stream.once('close', done);
  });
  return {
    answer,
    write: (bytes) => send(bytes, false),
    end: (bytes) => send(bytes ?? Buffer.alloc(0), true),
    cancel: () => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    },
  };
}

/** Closes a session and waits for it. */
export function closeSession(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (session.destroyed) return resolve();
    session.once('close', () => resolve());
    session.close();
    setTimeout(() => session.destroy(), 1000).unref();
  });
}
