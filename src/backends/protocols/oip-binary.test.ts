import { describe, expect, it } from 'vitest';
import { binaryHeaderLength, binaryReply, splitBinaryRequest, wantsBinaryOutput } from './oip-binary.js';

const header = (inputs: unknown[]) => Buffer.from(JSON.stringify({ inputs }));

describe('the OIP binary data extension', () => {
  it('reads the header length from the headers alone, refusing what no body could satisfy', () => {
    expect(binaryHeaderLength({})).toBeUndefined();
    expect(binaryHeaderLength({ 'inference-header-content-length': '12', 'content-length': '40' })).toBe(12);
    expect(binaryHeaderLength({ 'inference-header-content-length': '12' })).toBe(12); // chunked: checked on reading
    for (const bad of ['', 'abc', '-1', '1e3', '0x10', '12, 12', '1'.repeat(16)]) {
      expect(() => binaryHeaderLength({ 'inference-header-content-length': bad })).toThrow(/one byte count/);
    }
    expect(() => binaryHeaderLength({ 'inference-header-content-length': ['1', '2'] })).toThrow(/one byte count/);
    expect(() => binaryHeaderLength({ 'inference-header-content-length': '41', 'content-length': '40' })).toThrow(
      /larger than the whole body \(content-length 40\)/,
    );
  });

  it('splits inputs in order, binary ones as views into the body and JSON ones left alone', () => {
    const json = header([
      { name: 'a', parameters: { binary_data_size: 3 } },
      { name: 'b', data: [1] },
      { name: 'c', parameters: { binary_data_size: 2 } },
    ]);
    const body = Buffer.concat([json, Buffer.from('AAACC')]);
    const { header: parsed, tensors } = splitBinaryRequest(body, json.length, 'o');
    expect((parsed.inputs as unknown[]).length).toBe(3);
    expect(tensors.map((t) => t?.toString())).toEqual(['AAA', undefined, 'CC']);
    expect(tensors[0]!.buffer).toBe(body.buffer);
  });

  it('refuses lengths that do not add up, and a header that is not a JSON object with inputs', () => {
    const json = header([{ name: 'a', parameters: { binary_data_size: 4 } }]);
    const refuse = (body: Buffer, length: number) => () => splitBinaryRequest(body, length, 'o');
    expect(refuse(Buffer.concat([json, Buffer.alloc(3)]), json.length)).toThrow(/add up to more than the 3 bytes/);
    expect(refuse(Buffer.concat([json, Buffer.alloc(5)]), json.length)).toThrow(/1 of the 5 bytes/);
    expect(refuse(json, json.length + 1)).toThrow(/larger than the whole body/);
    expect(refuse(Buffer.from('[1]'), 3)).toThrow(/must be a JSON object/);
    expect(refuse(Buffer.from('{"x":1}'), 7)).toThrow(/must have "inputs"/);
    const fractional = header([{ name: 'a', parameters: { binary_data_size: 1.5 } }]);
    expect(refuse(fractional, fractional.length)).toThrow(/non-negative integer/);
  });

  it('answers binary when an output asks, or the request does unless the output says no', () => {
    expect(wantsBinaryOutput({}, { name: 'x' })).toBe(false);
    expect(wantsBinaryOutput({ parameters: { binary_data_output: true } }, { name: 'x' })).toBe(true);
    expect(
      wantsBinaryOutput({ parameters: { binary_data_output: true } }, { parameters: { binary_data: false } }),
    ).toBe(false);
    expect(wantsBinaryOutput({}, { parameters: { binary_data: true } })).toBe(true);
  });

  it('writes the JSON header, its length and the tensors after it', () => {
    const reply = binaryReply({ outputs: [{ name: 'y', parameters: { binary_data_size: 2 } }] }, [Buffer.from('YY')]);
    const body = reply.body as Buffer;
    const length = Number(reply.headers['inference-header-content-length']);
    expect(reply.headers['content-type']).toBe('application/octet-stream');
    expect(Number(reply.headers['content-length'])).toBe(body.length);
    expect(JSON.parse(body.subarray(0, length).toString())).toEqual({
      outputs: [{ name: 'y', parameters: { binary_data_size: 2 } }],
    });
    expect(body.subarray(length).toString()).toBe('YY');
  });
});
