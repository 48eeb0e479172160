// The in-process ONNX Runtime backend (SPEC §4): one model file, loaded when
// the revision is built, answering by operation — the json shape, the Open
// Inference Protocol, or OpenAI generation for `generator` models.
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { Call, Reply } from '../../call/types.js';
import { ConfigError } from '../../config/issues.js';
import type { OnnxBackendConfig } from '../../config/schema.js';
import { JunctionError } from '../../errors.js';
import type { Target } from '../../routing/types.js';
import type { Backend } from '../types.js';
import { answerGeneration, usageNoter } from './generate/handler.js';
import { answerResponses } from './generate/responses.js';
import type { GenerationStats, LanguageModel } from './generate/loop.js';
import { CharTokenizer } from './generate/tokenizer.js';
import { invokeJson } from './json-invoke.js';
import { OnnxModel } from './model.js';
import { oipInfer, oipMetadata, oipReady } from './oip.js';
import type { OnnxSessions } from './sessions.js';
import { carriesGrpc } from '../../grpc/content-type.js';
import { grpcInferReader } from './grpc-infer.js';

export interface OnnxBackend extends Backend {
  readonly model: OnnxModel;
  /** Emits `generation` with GenerationStats when a generation ends. */
  readonly events: EventEmitter;
}

export async function createOnnxBackend(
  target: Target,
  cfg: OnnxBackendConfig,
  baseDir: string,
  sessions: OnnxSessions,
): Promise<OnnxBackend> {
  const at = `models.${target.model}.versions.${target.version}.backend`;
  const shared = await sessions.acquire(cfg.path, baseDir, `${at}.path`);
  let lm: LanguageModel | undefined;
  try {
    const model = new OnnxModel(shared, cfg.maxBatch, cfg.maxDelayMs);
    if (target.modelClass === 'generator') lm = await languageModel(model, cfg, baseDir, at);
    const events = new EventEmitter();
    const onEnd = (s: GenerationStats) => events.emit('generation', s);
    let open = true;
    const fromGrpc = grpcInferReader();

    const send = async (call: Call): Promise<Reply> => {
      const op = call.operation;
      if (lm !== undefined && op === 'responses') return answerResponses(lm, call, usageNoter(call, onEnd));
      if (lm !== undefined && (op === 'chat/completions' || op === 'completions' || op === 'invoke')) {
        return answerGeneration(
          lm,
          call,
          op === 'invoke' ? undefined : op === 'completions' ? 'completion' : 'chat',
          onEnd,
        );
      }
      switch (op) {
        case 'invoke':
          return call.objective.interface === 'oip' ? oipInfer(model, target, call) : invokeJson(model, cfg, call);
        case 'infer':
          return oipInfer(model, target, carriesGrpc(call) ? await fromGrpc(call) : call);
        case 'metadata':
          return oipMetadata(model, target);
        case 'ready':
          return oipReady(target);
        default:
          throw new JunctionError(
            'invalid_request',
            `${target.id} (in-process ONNX, class ${target.modelClass}) does not serve "${op}"`,
            { objective: call.objective.name },
          );
      }
    };
    return {
      send,
      model,
      events,
      healthy: () => open,
      endpoint: () => undefined,
      async close() {
        open = false;
        await shared.release();
      },
    };
  } catch (err) {
    await shared.release();
    throw err;
  }
}

/** A generator: the model maps a window of token ids to next-token logits. */
async function languageModel(
  model: OnnxModel,
  cfg: OnnxBackendConfig,
  baseDir: string,
  at: string,
): Promise<LanguageModel> {
  const refuse = (path: string, message: string) => new ConfigError([{ path: `${at}.${path}`, message }]);
  if (cfg.tokenizer === undefined)
    throw refuse('tokenizer', 'a generator needs its tokenizer file (e.g. models/charlm-1.vocab.json)');
  const tokenizer = await CharTokenizer.load(resolve(baseDir, cfg.tokenizer), `${at}.tokenizer`);
  const input = model.inputs[0];
  const output = model.outputs[0];
  if (
    model.inputs.length !== 1 ||
    input === undefined ||
    output === undefined ||
    input.type !== 'int64' ||
    input.shape.length !== 2
  ) {
    throw refuse(
      'path',
      `a generator model takes one int64 input [batch, context] of token ids; this one takes ${model.describeInputs()}`,
    );
  }
  const contextLength = cfg.contextLength ?? input.shape[1];
  if (
    contextLength === null ||
    contextLength === undefined ||
    (input.shape[1] !== null && input.shape[1] !== contextLength)
  ) {
    throw refuse(
      'contextLength',
      `set contextLength to the model's context window (its input is ${model.describeInputs()})`,
    );
  }
  if (output.shape.at(-1) !== null && output.shape.at(-1) !== tokenizer.size) {
    throw refuse(
      'tokenizer',
      `the tokenizer has ${tokenizer.size} tokens but the model gives ${output.shape.at(-1)} logits`,
    );
  }
  return { model, tokenizer, contextLength, inputName: input.name, outputName: output.name };
}
