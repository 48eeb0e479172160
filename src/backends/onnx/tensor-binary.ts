// Tensors as the OIP binary data extension carries them (little-endian,
// row-major, no padding; BOOL one byte; BYTES a 4-byte length before each
// element) ↔ ONNX Runtime tensors. An input is a typed-array view over the
// received body when its offset suits the element size (the common case: no
// copy of a large tensor); a misaligned one is copied once, since a typed array
// cannot start between elements.
import { endianness } from 'node:os';
import * as ort from 'onnxruntime-node';
import { JunctionError } from '../../errors.js';
import { oipShape, type InputTensor } from './tensor-in.js';
import { elementCount, type TensorSpec } from './tensor-spec.js';

type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

interface ArrayKind {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
}

/** The typed array ONNX Runtime takes for each fixed-size element type (float16 as its raw 16 bits, bool as bytes). */
const ARRAYS: Readonly<Partial<Record<ort.Tensor.Type, ArrayKind>>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** The wire is little-endian; so are the machines Node.js runs on, bar s390x, which gets a swapped copy. */
const LITTLE_ENDIAN = endianness() === 'LE';

function invalid(message: string): JunctionError {
  return new JunctionError('invalid_request', message);
}

function swapped(bytes: Buffer, size: number): Buffer {
  const copy = Buffer.from(bytes);
  if (size === 2) copy.swap16();
  else if (size === 4) copy.swap32();
  else if (size === 8) copy.swap64();
  return copy;
}

/** One OIP input whose data came as `binary_data_size` bytes after the JSON header. */
export function binaryInput(
  spec: TensorSpec,
  datatype: string,
  expectedDatatype: string,
  shape: unknown,
  bytes: Buffer,
): InputTensor {
  const dims = oipShape(spec, datatype, expectedDatatype, shape);
  const count = elementCount(dims);
  const data = spec.type === 'string' ? stringElements(spec.name, bytes, count) : numericView(spec, bytes, count, dims);
  return { tensor: new ort.Tensor(spec.type, data, dims), rows: dims[0] ?? 1, single: false };
}

function numericView(spec: TensorSpec, bytes: Buffer, count: number, dims: readonly number[]): NumericArray {
  const Kind = ARRAYS[spec.type];
  if (Kind === undefined) throw invalid(`input "${spec.name}" has element type ${spec.type}, which has no binary form`);
  const size = Kind.BYTES_PER_ELEMENT;
  if (bytes.length !== count * size) {
    throw invalid(
      `input "${spec.name}": binary_data_size is ${bytes.length} bytes; shape [${dims.join(',')}] of ${expectedBytes(spec.type)} needs ${count * size}`,
    );
  }
  if (!LITTLE_ENDIAN && size > 1) {
    const copy = swapped(bytes, size);
    return new Kind(copy.buffer, copy.byteOffset, count);
  }
  if (bytes.byteOffset % size === 0) return new Kind(bytes.buffer, bytes.byteOffset, count);
  const copy = new Kind(count);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

function expectedBytes(type: ort.Tensor.Type): string {
  return `${type} (${ARRAYS[type]?.BYTES_PER_ELEMENT ?? '?'} bytes each)`;
}

/** BYTES elements: each a 4-byte little-endian length, then that many bytes (read as UTF-8 strings). */
function stringElements(name: string, bytes: Buffer, count: number): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 4) throw invalid(`input "${name}": a BYTES element's 4-byte length is cut short`);
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (length > bytes.length - offset) {
      throw invalid(`input "${name}": a BYTES element of ${length} bytes runs past its binary_data_size`);
    }
    out.push(bytes.toString('utf8', offset, offset + length));
    offset += length;
  }
  if (out.length !== count)
    throw invalid(`input "${name}": the shape needs ${count} BYTES elements, the data has ${out.length}`);
  return out;
}

/** An output's bytes as the extension carries them: a view of the tensor's own memory when the machine is little-endian. */
export function tensorBytes(tensor: ort.Tensor): Buffer {
  if (tensor.type === 'string') {
    const parts = (tensor.data as string[]).map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      offset = out.writeUInt32LE(p.length, offset);
      offset += p.copy(out, offset);
    }
    return out;
  }
  const data = tensor.data as NumericArray;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1 ? bytes : swapped(bytes, data.BYTES_PER_ELEMENT);
}
