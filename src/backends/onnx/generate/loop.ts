// The autoregressive loop: run the model on the last `contextLength` tokens,
// sample one token, append, repeat, until max_tokens, a stop sequence, an abort (a budget
// ran out, or the caller went away). Each step is one `model.run`, so
// concurrent generations share session runs through dynamic batching.
import type { CancelSignal } from '../../../call/cancel.js';
import * as ort from 'onnxruntime-node';
import type { OnnxModel } from '../model.js';
import { sampleToken, seededRandom } from './sampler.js';
import type { GenerationRequest } from './request.js';
import { StopMatcher } from './stop-matcher.js';
import type { CharTokenizer } from './tokenizer.js';

export type FinishReason = 'stop' | 'length' | 'aborted';

export interface LanguageModel {
  model: OnnxModel;
  tokenizer: CharTokenizer;
  contextLength: number;
  inputName: string;
  outputName: string;
}

/** What one generation did; reported when it ends (tests count tokens made after an abort). */
export interface GenerationStats {
  promptTokens: number;
  completionTokens: number;
  /** Tokens generated after `signal` aborted: 0 unless a step was in flight. */
  tokensAfterAbort: number;
  finishReason: FinishReason;
}

export interface Generation {
  /** Text pieces as they are generated: one per token, except text held back by a stop sequence. */
  pieces: AsyncGenerator<string, void, undefined>;
  /** Filled as generation goes; final once `pieces` is done. */
  stats: GenerationStats;
}

/**
 * @param signal ends the loop: the caller gone, or either budget of the
 *   request (SPEC §3) run out — the same mechanism as for a remote backend's
 *   stream (http/reply.ts cuts the reply and aborts the call), never a
 *   deadline of its own.
 */
export function generate(
  lm: LanguageModel,
  req: GenerationRequest,
  signal: CancelSignal,
  onEnd?: (s: GenerationStats) => void,
): Generation {
  const ids = lm.tokenizer.encode(req.prompt);
  // 'aborted' until the loop ends on its own: a consumer that stops pulling never lets it.
  const stats: GenerationStats = {
    promptTokens: ids.length,
    completionTokens: 0,
    tokensAfterAbort: 0,
    finishReason: 'aborted',
  };
  let atAbort: number | undefined;
  const onAbort = () => {
    atAbort = stats.completionTokens;
  };
  const random = req.seed === undefined ? Math.random : seededRandom(req.seed);
  const stops = new StopMatcher(req.stop);
  const K = lm.contextLength;

  async function* pieces(): AsyncGenerator<string, void, undefined> {
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (stats.completionTokens < req.maxTokens) {
        if (signal.aborted) return;
        const context = new BigInt64Array(K);
        for (let k = 0; k < K; k++) {
          const at = ids.length - K + k;
          context[k] = BigInt(at >= 0 ? ids[at]! : lm.tokenizer.padId);
        }
        const out = await lm.model.run({ [lm.inputName]: new ort.Tensor('int64', context, [1, K]) }, 1);
        const next = sampleToken(out[lm.outputName]!.data as Float32Array, req.temperature, random);
        ids.push(next);
        stats.completionTokens++;
        const { emit, stopped } = stops.push(lm.tokenizer.decode(next));
        if (emit !== '') yield emit;
        if (stopped) {
          stats.finishReason = 'stop';
          return;
        }
      }
      stats.finishReason = 'length';
      const rest = stops.flush();
      if (rest !== '') yield rest;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (atAbort !== undefined) stats.tokensAfterAbort = stats.completionTokens - atAbort;
      onEnd?.(stats);
    }
  }
  return { pieces: pieces(), stats };
}
