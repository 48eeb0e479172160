// A copy of a reply's body for whoever sampled it (the rollout gates read
// output scores from it), taken as the body streams to the caller, after the
// caller's pipe is attached: the caller's bytes are never delayed or changed.
import type { Readable } from 'node:stream';
import type { RequestRecord } from '../observe/record.js';

export interface ReplySampler {
  /** Asked once per reply, as it starts: keep a copy of this one? */
  wantsReply(record: RequestRecord): boolean;
  /** The whole body, once it ended (not called when it broke off or exceeded `maxBytes`). */
  takeReply(record: RequestRecord, body: Buffer): void;
}

const MAX_SAMPLED_BYTES = 64 * 1024;

export function sampleReply(body: Readable | Buffer, record: RequestRecord, sampler: ReplySampler): void {
  if (Buffer.isBuffer(body)) {
    sampler.takeReply(record, body);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  body.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_SAMPLED_BYTES) chunks.push(chunk);
  });
  body.once('end', () => {
    if (size <= MAX_SAMPLED_BYTES) sampler.takeReply(record, Buffer.concat(chunks, size));
  });
}
