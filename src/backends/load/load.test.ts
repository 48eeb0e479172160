import { describe, expect, it } from 'vitest';
import { parseOrca } from './orca.js';
import { PRESETS } from './presets.js';
import { loraAdapters, parseLoad } from './prom-text.js';

const VLLM = `# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
vllm:gpu_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.42
vllm:num_requests_waiting_total 99
`;

describe('Prometheus load', () => {
  it("reads vLLM's gauges, the newer KV-cache name before the older", () => {
    expect(parseLoad(VLLM, PRESETS.vllm)).toEqual({ queue: 3, running: 7, kvCache: 0.42, rejected: 0 });
    const both = `${VLLM}vllm:kv_cache_usage_perc{model_name="x"} 0.5\n`;
    expect(parseLoad(both, PRESETS.vllm).kvCache).toBe(0.5);
  });

  it('sums series of a name (one per model or rank) and honours a label matcher', () => {
    const text = 'nv_inference_pending_request_count{model="a"} 2\nnv_inference_pending_request_count{model="b"} 5\n';
    expect(parseLoad(text, PRESETS.triton).queue).toBe(7);
    expect(
      parseLoad(text, { queue: ['nv_inference_pending_request_count{model="b"}'], running: [], kvCache: [] }).queue,
    ).toBe(5);
  });

  it('drops negative, NaN, infinite and absurd values and counts them', () => {
    const text =
      'vllm:num_requests_waiting -1\nvllm:num_requests_running NaN\nvllm:gpu_cache_usage_perc 7\nvllm:num_requests_running +Inf\nvllm:num_requests_waiting 1e12\n';
    expect(parseLoad(text, PRESETS.vllm)).toEqual({
      queue: undefined,
      running: undefined,
      kvCache: undefined,
      rejected: 5,
    });
  });

  it('reads SGLang and TGI names', () => {
    expect(
      parseLoad('sglang:num_queue_reqs 1\nsglang:num_running_reqs 2\nsglang:token_usage 0.3\n', PRESETS.sglang),
    ).toMatchObject({
      queue: 1,
      running: 2,
      kvCache: 0.3,
    });
    expect(parseLoad('tgi_queue_size 4\ntgi_batch_current_size 8\n', PRESETS.tgi)).toMatchObject({
      queue: 4,
      running: 8,
    });
  });
});

describe('ORCA endpoint-load-metrics', () => {
  it('reads the TEXT and JSON forms', () => {
    expect(parseOrca('TEXT cpu_utilization=0.3, named_metrics.queue=2, named_metrics.kv_cache=0.5')).toEqual({
      queue: 2,
      running: undefined,
      kvCache: 0.5,
    });
    expect(parseOrca('JSON {"cpu_utilization":0.3,"named_metrics":{"num_requests_running":4}}')).toEqual({
      queue: undefined,
      running: 4,
      kvCache: undefined,
    });
  });

  it('ignores the BIN form, malformed and oversized headers, and values that cannot be load', () => {
    expect(parseOrca('BIN CgQIARAC')).toBeUndefined();
    expect(parseOrca('TEXT named_metrics.queue')).toBeUndefined();
    expect(parseOrca('TEXT named_metrics.queue=abc')).toBeUndefined();
    expect(parseOrca('TEXT named_metrics.queue=-3')).toBeUndefined();
    expect(parseOrca('JSON {"named_metrics":')).toBeUndefined();
    expect(parseOrca('JSON {"named_metrics":{"queue":"2"}}')).toBeUndefined();
    expect(parseOrca(`TEXT named_metrics.queue=1, ${'x=1, '.repeat(2000)}`)).toBeUndefined();
    expect(parseOrca('TEXT cpu_utilization=0.5')).toBeUndefined(); // nothing Junction reads
  });
});

describe('LoRA adapters from vLLM metrics', () => {
  it('reads running and waiting adapters of vllm:lora_requests_info', () => {
    const text =
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters="x-lora"} 1.7e9\n';
    expect(loraAdapters(text)).toEqual(new Set(['sql-lora', 'chat-lora', 'x-lora']));
    expect(loraAdapters('vllm:num_requests_waiting 1\n')).toBeUndefined();
  });
});
