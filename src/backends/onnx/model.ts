// One loaded model as the request handlers see it: its input/output specs and
// a `run` that goes through dynamic batching.
import { JunctionError } from '../../errors.js';
import type { Batcher, Feeds } from './batcher.js';
import type { SharedSession } from './sessions.js';
import { batchable, specsOf, type TensorSpec } from './tensor-spec.js';

export class OnnxModel {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly batcher: Batcher;

  constructor(
    readonly shared: SharedSession,
    maxBatch: number,
    maxDelayMs: number,
  ) {
    const { session } = shared;
    this.inputs = specsOf(session.inputMetadata);
    this.outputs = specsOf(session.outputMetadata);
    // A model with a fixed first dimension cannot take merged requests.
    this.batcher = shared.batcher(batchable(this.inputs) ? maxBatch : 1, maxDelayMs);
  }

  input(name: string): TensorSpec | undefined {
    return this.inputs.find((s) => s.name === name);
  }

  /** What the model takes, for error messages: `features (float32 [batch,8])`. */
  describeInputs(): string {
    return this.inputs.map((s) => `${s.name} (${s.type} [${s.shape.map((d) => d ?? '?').join(',')}])`).join(', ');
  }

  async run(feeds: Feeds, rows: number): Promise<Feeds> {
    for (const spec of this.inputs) {
      if (!(spec.name in feeds))
        throw new JunctionError(
          'invalid_request',
          `missing input "${spec.name}"; the model takes ${this.describeInputs()}`,
        );
    }
    try {
      return await this.batcher.run(feeds, rows);
    } catch (err) {
      throw new JunctionError(
        'upstream_error',
        `ONNX Runtime failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
        { cause: err },
      );
    }
  }
}
