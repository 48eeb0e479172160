// Metric names of the model servers Junction knows, for load reports (SPEC §14
// `load.metrics.preset`). Each is the server's own gauge, as documented:
// - vLLM (docs.vllm.ai, "Production Metrics"): vllm:num_requests_waiting,
//   vllm:num_requests_running, vllm:gpu_cache_usage_perc (0..1; renamed
//   vllm:kv_cache_usage_perc in v0.10+ — both are read, the newer first).
// - SGLang (docs.sglang.io/references/production_metrics): sglang:num_queue_reqs,
//   sglang:num_running_reqs, sglang:token_usage (KV-cache token pool use, 0..1).
// - TGI (huggingface.co/docs/text-generation-inference/reference/metrics):
//   tgi_queue_size (queue), tgi_batch_current_size (running); no KV-cache gauge.
// - Triton (docs.nvidia.com/deeplearning/triton-inference-server, "Metrics"):
//   nv_inference_pending_request_count (queued, per model: summed); Triton has
//   no running-requests or KV-cache gauge in general (TensorRT-LLM's are
//   backend-specific: set `names` for them).
// A `names` entry overrides its preset's; series of one name are summed
// (queue, running: one per model or rank) or the largest taken (kvCache).
import type { HttpBackendConfig } from '../../config/schema.js';

export interface MetricNames {
  /** Each kind: candidate names (first found wins), each `name` or `name{label="value"}`. */
  queue: readonly string[];
  running: readonly string[];
  kvCache: readonly string[];
}

export const PRESETS: Readonly<Record<'vllm' | 'sglang' | 'tgi' | 'triton', MetricNames>> = {
  vllm: {
    queue: ['vllm:num_requests_waiting'],
    running: ['vllm:num_requests_running'],
    kvCache: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  },
  sglang: {
    queue: ['sglang:num_queue_reqs'],
    running: ['sglang:num_running_reqs'],
    kvCache: ['sglang:token_usage'],
  },
  tgi: { queue: ['tgi_queue_size'], running: ['tgi_batch_current_size'], kvCache: [] },
  triton: { queue: ['nv_inference_pending_request_count'], running: [], kvCache: [] },
};

export function metricNames(metrics: NonNullable<NonNullable<HttpBackendConfig['load']>['metrics']>): MetricNames {
  const preset = PRESETS[metrics.preset ?? 'vllm'];
  const names = metrics.names;
  return {
    queue: names?.queue !== undefined ? [names.queue] : preset.queue,
    running: names?.running !== undefined ? [names.running] : preset.running,
    kvCache: names?.kvCache !== undefined ? [names.kvCache] : preset.kvCache,
  };
}
