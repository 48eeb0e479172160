// The simulated replica's parameters: one vLLM server running
// Llama-3.1-8B-Instruct (BF16) on one A100-class GPU, and where each number
// comes from. Durations here are in simulated milliseconds; the simulator
// multiplies them by `scale` to get wall-clock time (replica.ts).
//
// Sources (read through this project's search tool, 2026):
//
// [A] J. Musgrave, "vLLM throughput-latency sweep on NVIDIA A100"
//     (https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on):
//     Llama-3.1-8B-Instruct BF16, vLLM 0.23.0 defaults, one A100 40GB,
//     1024-token inputs, 128-token outputs. "Decode at one request per time
//     runs at about 75 tokens/sec" (13.3 ms per step at batch 1); "batching
//     buys throughput almost for free up to a concurrency of 8, a 6.6x gain
//     with almost no latency cost", so at batch 8 a step takes about
//     8 / 6.6 × 13.3 ≈ 16.1 ms: +0.35–0.4 ms per sequence in the batch.
// [B] InferenceBench concurrency-sweep recipe
//     (https://yobitelcomm.github.io/bench/recipes/concurrency-sweep/):
//     Llama-3.1-8B-Instruct fp16, vLLM 0.21.0, one H100-80GB, short chat
//     prompts: TPOT p50 6.48 ms at concurrency 1, 6.59 at 4, 10.94 at 16,
//     46.91 at 64 (TTFT p50 14 → 87 ms, p99 15 → 465 ms). The same shape as
//     [A] at half the step time: flat to ~8, then growing with the batch; past
//     ~16 the growth is mostly prefill interference and queueing, which the
//     simulator models separately (prefill tokens share the step, requests
//     wait for a batch slot). We keep [A]'s A100 numbers.
// [C] vLLM, "Automatic Prefix Caching" design doc
//     (https://docs.vllm.ai/en/latest/design/prefix_caching/) and
//     CacheConfig (DEFAULT_BLOCK_SIZE = 16): KV blocks of 16 tokens, each
//     identified by a hash of its tokens and of its parent block's hash (a
//     chain), cached blocks evicted least recently used first.
// [D] vLLM "Production Metrics" (https://docs.vllm.ai/en/stable/usage/metrics/,
//     and llm-d's model-server metrics reference): vllm:num_requests_running,
//     vllm:num_requests_waiting, vllm:kv_cache_usage_perc (0..1; the older
//     name vllm:gpu_cache_usage_perc), vllm:prefix_cache_queries_total and
//     vllm:prefix_cache_hits_total (tokens), vllm:prompt_tokens_total,
//     vllm:generation_tokens_total.
//
// Assumed, with the reason:
// - Prefill cost 0.1 ms per uncached prompt token (10,000 tokens/s): no
//   benchmark read gave prefill throughput alone. An 8B model needs
//   ~2 × 8e9 = 16 GFLOP per prompt token; an A100's 312 TFLOPS BF16 at ~50 %
//   utilisation gives ~10k tokens/s. Consistent with the 150–250 ms TTFT a
//   stock vLLM Llama-3-8B on an A100 80GB shows for chat prompts
//   (https://cloudach.vercel.app/blog/sub-100ms-ttft-llama3-vllm): 1.5–2.5k
//   tokens at 0.1 ms is 150–250 ms.
// - Chunked prefill with a budget of 2,048 tokens per step (vLLM V1's
//   max_num_batched_tokens default for online serving on smaller GPUs; the
//   budget is shared by the step's decodes and prefill chunks).
// - max_num_seqs 32: a latency-oriented setting (vLLM's default is 256; past
//   ~16–32 [B] shows TPOT growing steeply), so the batch limit and the waiting
//   queue are exercised at 90 % load.
// - KV capacity 131,072 tokens (8,192 blocks of 16). Llama-3.1-8B keeps
//   32 layers × 8 KV heads × 128 dims × 2 (K and V) × 2 bytes = 128 KiB per
//   token; an A100 40GB at gpu_memory_utilization 0.9 leaves ~16–18 GB for
//   KV after 16 GB of weights and activations: 125–140k tokens.
// - Tokens: 4 characters of the rendered prompt are one token (no tokenizer;
//   English averages ~4 characters per Llama-3 token).

export interface ReplicaParams {
  /** Characters per token (the simulator's tokenizer). */
  charsPerToken: number;
  /** Tokens per KV block ([C]). */
  blockTokens: number;
  /** KV capacity in blocks: running requests' blocks plus the prefix cache (LRU). */
  kvBlocks: number;
  /** Most sequences in one step (vLLM max_num_seqs). */
  maxBatch: number;
  /** Tokens per step: decodes (1 each) plus prefill chunks (vLLM max_num_batched_tokens). */
  maxBatchedTokens: number;
  /** Prefill cost per uncached prompt token, simulated ms. */
  prefillMsPerToken: number;
  /** Decode step time = stepBaseMs + stepPerSeqMs × sequences in the step, simulated ms ([A]). */
  stepBaseMs: number;
  stepPerSeqMs: number;
  /** Content tokens per SSE chunk (vLLM's stream interval; the first token is always sent alone). */
  streamInterval: number;
}

export const A100_LLAMA_8B: ReplicaParams = {
  charsPerToken: 4,
  blockTokens: 16,
  kvBlocks: 8192,
  maxBatch: 32,
  maxBatchedTokens: 2048,
  prefillMsPerToken: 0.1,
  stepBaseMs: 13,
  stepPerSeqMs: 0.4,
  streamInterval: 8,
};

/**
 * Requests per simulated second one replica completes when every step is a
 * full batch and no prompt token is found in the prefix cache: GPU time per
 * request = prefill of the whole prompt + its share of `outputTokens` full
 * decode steps. A cache-blind upper bound on load; cache hits lower the load
 * a given arrival rate makes.
 */
export function replicaCapacity(p: ReplicaParams, promptTokens: number, outputTokens: number): number {
  const prefillMs = promptTokens * p.prefillMsPerToken;
  const decodeMs = (outputTokens * (p.stepBaseMs + p.stepPerSeqMs * p.maxBatch)) / p.maxBatch;
  return 1000 / (prefillMs + decodeMs);
}
