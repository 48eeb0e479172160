// A reply has started only when its first body byte is here (SPEC §3): an
// upstream that sends headers (SSE) and dies before its first event has
// written nothing the caller could use, so that is a failed attempt, and the
// fallback chain, retries and the `timeoutMs` budget all see it as one.
// Wraps every attempt; costs nothing for buffered or empty bodies.
import type { Readable } from 'node:stream';
import type { Reply, Send } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { abortError } from '../call/abort-reason.js';

export function awaitFirstByte(send: Send): Send {
  // `then`, not an async function: one promise fewer on every attempt, the common one included.
  return (call) => {
    let sent: Promise<Reply>;
    try {
      sent = send(call);
    } catch (err) {
      return Promise.reject(err); // a send that throws fails its attempt like one that rejects
    }
    return sent.then((reply) => {
      const body = reply.body;
      if (body === null || Buffer.isBuffer(body) || body.readableEnded) return reply;
      if (body.readableLength > 0 && !body.destroyed) {
        // Most replies have their first chunk buffered by the time the headers are handed over
        // (a small answer arrives in one read): nothing to wait for, unless it broke right
        // after (then the wait below sees a destroyed body and fails the attempt). As below, a reset before
        // the reply writer attaches its own listener must not be an unheard 'error'.
        body.on('error', ignore);
        return reply;
      }
      return firstChunk(body, () =>
        call.signal.aborted
          ? abortError(call.signal.reason, call.objective.name, 'aborted before the reply started')
          : new JunctionError('upstream_error', `${call.target.id} broke its reply before the first byte`, {
              objective: call.objective.name,
            }),
      ).then(() => reply);
    });
  };
}

/** Resolves once `body` has a chunk (put back, unread) or ended; rejects with `failure()` if it fails first. */
function firstChunk(body: Readable, failure: () => JunctionError): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: unknown) => {
      cleanup();
      // Until the reply writer attaches its own, an upstream reset (while a hedge waits on
      // the other attempt, say) must not be an 'error' with no listener: that ends the process.
      body.on('error', ignore);
      body.pause();
      body.unshift(chunk);
      resolve();
    };
    const onEnd = () => {
      cleanup();
      resolve();
    };
    const onError = () => {
      cleanup();
      body.on('error', ignore); // later errors of a body nobody reads must not go uncaught
      reject(failure());
    };
    const onClose = () => {
      cleanup();
      if (body.readableEnded) resolve();
      else reject(failure());
    };
    if (body.destroyed) {
      // Already closed ('close' has fired): nothing more will come.
      if (body.readableEnded) resolve();
      else reject(failure());
      return;
    }
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

function ignore(): void {}
