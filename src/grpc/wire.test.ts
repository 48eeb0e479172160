import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JunctionError } from '../errors.js';
import { loadOipGrpcService } from './service.js';
import { readModelRef, rewriteModelRef } from './wire.js';

const service = loadOipGrpcService();
const encode = (value: object) => service.decoded.ModelInfer!.requestSerialize(value);
const decode = (bytes: Buffer) => service.decodeInferRequest(bytes);

const request = {
  model_name: 'ranking',
  model_version: '',
  id: 'r1',
  parameters: { priority: { int64_param: '3' } },
  inputs: [{ name: 'x', datatype: 'FP32', shape: ['2', '3'] }],
  outputs: [{ name: 'y' }],
  raw_input_contents: [Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])],
};

describe('ModelInferRequest wire rewrite', () => {
  it('reads the model name and version', () => {
    expect(readModelRef(encode(request))).toEqual({ name: 'ranking', version: '' });
    expect(readModelRef(encode({ ...request, model_version: '7' }))).toEqual({ name: 'ranking', version: '7' });
    expect(readModelRef(Buffer.alloc(0))).toEqual({ name: '', version: '' });
  });

  it('rewrites only the name and version; every other byte is copied as it came', () => {
    const original = encode({ ...request, model_version: 'x' });
    const out = rewriteModelRef(original, 'ranker', '7');
    expect(decode(out)).toMatchObject({ ...decode(original), model_name: 'ranker', model_version: '7' });
    // What follows fields 1 and 2 is the original's tail, byte for byte.
    const tail = (b: Buffer) => b.subarray(b.indexOf(Buffer.from('r1')) - 2);
    expect(tail(out).equals(tail(original))).toBe(true);
    expect(readModelRef(rewriteModelRef(original, 'ranker', ''))).toEqual({ name: 'ranker', version: '' });
  });

  it('finds the fields wherever the encoder put them, and keeps unknown fields', () => {
    const unknownVarint = Buffer.from([0x78, 0x2a]); // field 15, varint 42
    const late = Buffer.concat([encode({ id: 'a' }), unknownVarint, Buffer.from([0x0a, 0x01, 0x6d])]); // name "m" last
    expect(readModelRef(late).name).toBe('m');
    const out = rewriteModelRef(late, 'n', '');
    expect(out.includes(unknownVarint)).toBe(true);
    expect(decode(out).model_name).toBe('n');
  });

  it('refuses malformed messages as invalid_request, never crashing', () => {
    for (const bad of [
      Buffer.from([0x0a, 0x05, 0x61]),
      Buffer.from([0x80]),
      Buffer.from([0x0b]),
      Buffer.from([0x3a, 0xff, 0xff, 0xff, 0x0f]),
    ]) {
      expect(() => readModelRef(bad)).toThrow(JunctionError);
      expect(() => rewriteModelRef(bad, 'a', 'b')).toThrow(JunctionError);
    }
  });

  it('agrees with the protobuf decoder on any request', () => {
    const tensor = fc.record({
      name: fc.string(),
      datatype: fc.constantFrom('FP32', 'INT64', 'BYTES'),
      shape: fc.array(fc.nat().map(String), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string(),
        fc.array(tensor, { maxLength: 3 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 3 }),
        fc.string({ minLength: 1 }),
        fc.string(),
        (name, version, id, inputs, raws, newName, newVersion) => {
          const bytes = encode({
            model_name: name,
            model_version: version,
            id,
            inputs,
            raw_input_contents: raws.map((r) => Buffer.from(r)),
          });
          expect(readModelRef(bytes)).toEqual({ name, version });
          const out = decode(rewriteModelRef(bytes, newName, newVersion));
          expect(out).toEqual({ ...decode(bytes), model_name: newName, model_version: newVersion });
        },
      ),
    );
  });
});
