// What a call cost (SPEC §16), from the answering target's price and the
// tokens its reply reported, set on the request's record before any other
// observer reads it (the decision log, metrics, the spend ledger, budgets).
//
//   perRequest + (prompt − cached)·inputPerMTok/1e6
//              + cached·(cachedInputPerMTok ?? inputPerMTok)/1e6
//              + completion·outputPerMTok/1e6
//
// The answering target is the fallback that answered (`record.fallback`),
// else the routed one; a `static` fallback answer and a target without a
// price cost nothing and carry no cost at all. The cases, decided here once:
// - a response-cache hit (`record.cache === 'hit'`) costs 0: no call was made,
//   so no tokens and no per-request price either;
// - a call refused before it reached the target, or whose target never
//   answered (connection refused, timed out), costs 0;
// - a target that answered with an error (status ≥ 400) and no usage costs its
//   per-request price only: it did the work of refusing, no tokens are assumed;
// - a successful answer of an LLM objective (interface openai) with no usage,
//   or with absurd usage (MAX_TOKENS, observe/token-usage.ts), is estimated
//   and marked `estimated`: prompt ≈ request body bytes ÷ 4; completion ≈ the
//   stream's SSE events (servers send about one token per event) or, for a
//   whole body, its bytes ÷ 4. Bytes ÷ 4 is the usual rule of thumb for
//   English text in BPE tokenizers; a JSON body's field names count too, so
//   it errs high, by a few dozen tokens per call;
// - other objectives (json, oip, bytes) have no tokens: perRequest.
import type { Observer, RequestRecord, CallCost, TokenUsage } from './record.js';
import type { PriceConfig } from '../config/schema.js';
import type { RoutingTable, Target } from '../routing/types.js';
import { MAX_TOKENS } from './token-usage.js';

/** Bytes per token of the estimate (see above). */
export const BYTES_PER_TOKEN = 4;

/** The cost of `tokens` at `price` (finite: prices and counts are bounded by the schema and MAX_TOKENS). */
export function tokensCost(price: PriceConfig, tokens: TokenUsage | undefined): number {
  let amount = price.perRequest;
  if (tokens !== undefined) {
    const cached = tokens.cached ?? 0;
    amount +=
      ((tokens.prompt - cached) * price.inputPerMTok +
        cached * (price.cachedInputPerMTok ?? price.inputPerMTok) +
        tokens.completion * price.outputPerMTok) /
      1e6;
  }
  return Number.isFinite(amount) && amount >= 0 ? amount : 0;
}

/** What the record says of the call, for `callCost`. */
export type CostedCall = Pick<
  RequestRecord,
  'usage' | 'cache' | 'status' | 'cut' | 'errorCode' | 'upstreamMs' | 'bytesIn' | 'bytesOut' | 'events'
>;

/** A call's cost at `price`; `llm`: its objective speaks an LLM API (interface openai), so a missing usage is estimated. */
export function callCost(price: PriceConfig, call: CostedCall, llm: boolean): CallCost {
  const currency = price.currency;
  if (call.cache === 'hit') return { amount: 0, currency, estimated: false, tokens: { prompt: 0, completion: 0 } };
  if (call.upstreamMs === undefined) return { amount: 0, currency, estimated: false };
  const usage = saneUsage(call.usage);
  if (usage !== undefined) return { amount: tokensCost(price, usage), currency, estimated: false, tokens: usage };
  // The target's reply began with an error; a reply cut mid-body or left by its caller began well, and was generated.
  const refused = call.status >= 400 && call.cut === undefined && call.errorCode !== 'client_closed';
  if (refused || !llm) return { amount: tokensCost(price, undefined), currency, estimated: false };
  const tokens = estimateTokens(call);
  return { amount: tokensCost(price, tokens), currency, estimated: true, tokens };
}

/** The estimate of a reply that reported no usage (see the top of this file). */
export function estimateTokens(call: Pick<RequestRecord, 'bytesIn' | 'bytesOut' | 'events'>): TokenUsage {
  const prompt = Math.ceil((call.bytesIn ?? 0) / BYTES_PER_TOKEN);
  const completion = call.events !== undefined ? call.events : Math.ceil(call.bytesOut / BYTES_PER_TOKEN);
  return { prompt: Math.min(prompt, MAX_TOKENS), completion: Math.min(completion, MAX_TOKENS) };
}

/** The usage when it is believable: whole numbers from 0 to MAX_TOKENS, cached within the prompt; else undefined. */
export function saneUsage(usage: TokenUsage | undefined): TokenUsage | undefined {
  if (usage === undefined || !isCount(usage.prompt) || !isCount(usage.completion)) return undefined;
  if (usage.cached === undefined || (isCount(usage.cached) && usage.cached <= usage.prompt)) return usage;
  return { prompt: usage.prompt, completion: usage.completion }; // an absurd cached count: the whole prompt at the input price
}

function isCount(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_TOKENS;
}

/**
 * The routing table a request ran on, by its outcome's revision: the live one,
 * or the one before it (a request that began before a swap); another one
 * when neither (the live one is then the best guess of a target's price).
 */
export type RoutingOf = (revision: number) => RoutingTable | undefined;

/** The target that answered the request (a fallback's, when one did), or undefined for none (`static`, no decision). */
export function answeringTarget(record: RequestRecord, routingOf: RoutingOf): Target | undefined {
  const outcome = record.outcome;
  if (outcome === undefined) return undefined;
  if (record.fallback === undefined) return outcome.target;
  return routingOf(outcome.revision)?.targets.get(record.fallback); // `static` is no target
}

/** The observer that sets `record.cost`: put it before every other (costFirst). */
export function costObserver(routingOf: RoutingOf): Observer {
  return (ended) => {
    const record = ended as RequestRecord; // the one observer that writes: it runs first, before anyone reads
    const target = answeringTarget(record, routingOf);
    const price = target?.price;
    if (price === undefined) return;
    const llm = routingOf(record.outcome!.revision)?.objectives.get(record.outcome!.objective)?.interface === 'openai';
    record.cost = callCost(price, record, llm);
  };
}

/** The observers with the cost first, so every one of them reads it; none when nobody observes (nothing reads a cost). */
export function costFirst(observers: readonly Observer[], routingOf: RoutingOf): Observer[] {
  return observers.length === 0 ? [] : [costObserver(routingOf), ...observers];
}
