// The Open Inference Protocol REST binary tensor data extension (KServe,
// Triton): a body of `Inference-Header-Content-Length` bytes of JSON, then the
// raw tensors, little-endian and row-major, in the order of the inputs (or
// outputs) whose `parameters.binary_data_size` gives their length. The one
// reader and writer of that layout: the OIP face checks the header with it, the
// in-process ONNX backend reads requests and writes answers with it. A remote
// `oip` backend never needs it: its bodies pass through unread both ways.
import { parseJsonObject, isObject } from '../../call/json-body.js';
import type { HeaderMap, Reply } from '../../call/types.js';
import { JunctionError } from '../../errors.js';

/** The request and response header naming the JSON part's length (Node lowercases header names). */
export const BINARY_HEADER = 'inference-header-content-length';

/** A decimal count of bytes: 15 digits stay exact in a double and far beyond any body limit. */
const BYTE_COUNT = /^\d{1,15}$/;

function invalid(message: string, objective: string | undefined): JunctionError {
  return new JunctionError('invalid_request', message, { objective });
}

/**
 * The JSON part's length from `Inference-Header-Content-Length`, or undefined
 * when the body is plain JSON. Read from the headers alone, so the face can
 * refuse a malformed value before a byte of the body is read: not a single
 * decimal integer (negative, non-numeric, repeated, absurdly long), or larger
 * than the body's declared content-length.
 */
export function binaryHeaderLength(headers: HeaderMap, objective?: string): number | undefined {
  const value = headers[BINARY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !BYTE_COUNT.test(value)) {
    throw invalid(
      `Inference-Header-Content-Length must be one byte count (a non-negative integer); got ${JSON.stringify(value).slice(0, 40)}`,
      objective,
    );
  }
  const length = Number(value);
  const declared = headers['content-length'];
  if (typeof declared === 'string' && length > Number(declared)) {
    throw invalid(
      `Inference-Header-Content-Length ${length} is larger than the whole body (content-length ${declared})`,
      objective,
    );
  }
  return length;
}

/** A binary request split into its JSON header and each input's bytes. */
export interface BinaryRequest {
  readonly header: Record<string, unknown>;
  /** Per entry of `header.inputs`: its bytes (a view into the body, never a copy), or undefined for an input sent as JSON `data`. */
  readonly tensors: ReadonlyArray<Buffer | undefined>;
}

/** `parameters.binary_data_size` of an input or output: undefined when absent, else a non-negative integer. */
export function binaryDataSize(item: unknown, what: string, objective?: string): number | undefined {
  const parameters = isObject(item) ? item.parameters : undefined;
  const size = isObject(parameters) ? parameters.binary_data_size : undefined;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${what}: binary_data_size must be a non-negative integer; got ${JSON.stringify(size)}`, objective);
  }
  return size;
}

/**
 * Splits a whole binary body. Every length is checked against the bytes that
 * are there: the JSON part must fit, be a JSON object with `inputs`, and the
 * inputs' binary_data_size values must add up to exactly the bytes after it.
 */
export function splitBinaryRequest(body: Buffer, headerLength: number, objective: string): BinaryRequest {
  if (headerLength > body.length) {
    throw invalid(
      `Inference-Header-Content-Length ${headerLength} is larger than the whole body (${body.length} bytes)`,
      objective,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = parseJsonObject(body.subarray(0, headerLength), objective);
  } catch (err) {
    throw invalid(
      `the JSON header (the first ${headerLength} bytes, per Inference-Header-Content-Length) is refused: ${(err as Error).message}`,
      objective,
    );
  }
  const inputs = header.inputs;
  if (!Array.isArray(inputs))
    throw invalid('the JSON header must have "inputs": [{name, shape, datatype, …}]', objective);
  const tensors: Array<Buffer | undefined> = [];
  const binaryBytes = body.length - headerLength;
  let offset = headerLength;
  for (let i = 0; i < inputs.length; i++) {
    const size = binaryDataSize(inputs[i], `input ${i}`, objective);
    if (size === undefined) {
      tensors.push(undefined);
      continue;
    }
    if (size > body.length - offset) {
      throw invalid(
        `the inputs' binary_data_size values add up to more than the ${binaryBytes} bytes after the JSON header`,
        objective,
      );
    }
    tensors.push(body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== body.length) {
    throw invalid(
      `${body.length - offset} of the ${binaryBytes} bytes after the JSON header belong to no input (binary_data_size values add up to ${offset - headerLength})`,
      objective,
    );
  }
  return { header, tensors };
}

/**
 * Whether an output is answered as binary data: its own `parameters.binary_data`
 * when given, else the request's `parameters.binary_data_output`.
 */
export function wantsBinaryOutput(request: Record<string, unknown>, output: unknown): boolean {
  const own = isObject(output) && isObject(output.parameters) ? output.parameters.binary_data : undefined;
  if (typeof own === 'boolean') return own;
  return isObject(request.parameters) && request.parameters.binary_data_output === true;
}

/**
 * An answer with binary outputs: the JSON header (whose outputs carry their
 * binary_data_size), then each output's bytes in the same order. In-process
 * outputs are small, so one write of one buffer beats a stream of pieces.
 */
export function binaryReply(header: unknown, tensors: readonly Buffer[]): Reply {
  const json = Buffer.from(JSON.stringify(header));
  let total = json.length;
  for (const t of tensors) total += t.length;
  return {
    status: 200,
    headers: {
      'content-type': 'application/octet-stream',
      [BINARY_HEADER]: String(json.length),
      'content-length': String(total),
    },
    body: Buffer.concat([json, ...tensors], total),
  };
}
