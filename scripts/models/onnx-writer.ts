// Builds ONNX model files with onnx-proto: graphs of a few standard operators
// (opset 13) with float32 initializers. Enough for the quickstart models.
import onnxProto, { type onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS: its namespace comes through the default export.
const { onnx } = onnxProto;

type Dim = number | string;
export type ElemType = 'float32' | 'int64';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: Dim[];
}

export type AttrValue = number | number[] | string;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface GraphSpec {
  name: string;
  /** Written into the model's doc_string: how it was made. */
  doc: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  floats: Record<string, { dims: number[]; data: Float32Array }>;
  ints?: Record<string, { dims: number[]; data: number[] }>;
  metadata?: Record<string, string>;
}

function valueInfo(v: ValueSpec): Onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): Onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (Number.isInteger(value)) return { name, type: T.INT, i: value };
  return { name, type: T.FLOAT, f: value };
}

export function encodeModel(g: GraphSpec): Uint8Array {
  const initializer: Onnx.ITensorProto[] = [];
  for (const [name, t] of Object.entries(g.floats)) {
    // raw_data keeps the file small and the bytes exact (little-endian float32).
    const raw = new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    initializer.push({ name, dims: t.dims, dataType: ELEM.float32, rawData: raw });
  }
  for (const [name, t] of Object.entries(g.ints ?? {})) {
    initializer.push({ name, dims: t.dims, dataType: ELEM.int64, int64Data: t.data });
  }
  const model: Onnx.IModelProto = {
    irVersion: 7,
    producerName: 'junction-scripts-models',
    producerVersion: '1',
    docString: g.doc,
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
      initializer,
      node: g.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
