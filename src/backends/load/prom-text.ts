// Reads the few gauges a load report needs from a Prometheus text page
// (exposition format 0.0.4, which vLLM, SGLang, TGI and Triton serve), line by
// line, without building the page's samples: each line's name is compared
// with the wanted ones and only those values are parsed. Values that cannot be
// load (NaN, infinite, negative, absurd) are dropped and counted.
import type { MetricNames } from './presets.js';

export interface ParsedLoad {
  queue: number | undefined;
  running: number | undefined;
  kvCache: number | undefined;
  /** Samples of wanted metrics whose value was refused. */
  rejected: number;
}

/** More requests than any replica holds: a value past this is a broken exporter, not load. */
export const MAX_REQUESTS = 1_000_000;

interface Wanted {
  name: string;
  /** `label="value"` that must appear in the sample's labels, if any. */
  label: string | undefined;
  kind: 0 | 1 | 2;
  rank: number;
}

function wanted(names: MetricNames): Wanted[] {
  const out: Wanted[] = [];
  const add = (list: readonly string[], kind: 0 | 1 | 2) =>
    list.forEach((full, rank) => {
      const brace = full.indexOf('{');
      out.push({
        name: brace < 0 ? full : full.slice(0, brace),
        label: brace < 0 ? undefined : full.slice(brace + 1, -1),
        kind,
        rank,
      });
    });
  add(names.queue, 0);
  add(names.running, 1);
  add(names.kvCache, 2);
  return out;
}

/** The load the page reports, by the names given; undefined for a kind it has no valid sample of. */
export function parseLoad(text: string, names: MetricNames): ParsedLoad {
  const want = wanted(names);
  const sums = [0, 0, -1];
  const seenRank = [Infinity, Infinity, Infinity];
  let rejected = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    const line = pos;
    pos = eol + 1;
    if (text.charCodeAt(line) === 35 /* # */) continue;
    for (const w of want) {
      if (!text.startsWith(w.name, line)) continue;
      const after = text.charCodeAt(line + w.name.length);
      if (after !== 32 && after !== 123 /* { */ && after !== 9) continue;
      let valueAt = line + w.name.length;
      if (after === 123) {
        const close = text.indexOf('}', valueAt);
        if (close < 0 || close > eol) break;
        if (w.label !== undefined && !text.slice(valueAt + 1, close).includes(w.label)) continue;
        valueAt = close + 1;
      } else if (w.label !== undefined) continue;
      const fields = text.slice(valueAt, eol).trim().split(/\s+/);
      const v = Number(fields[0]);
      const max = w.kind === 2 ? 1 : MAX_REQUESTS;
      if (fields[0] === undefined || fields[0] === '' || !Number.isFinite(v) || v < 0 || v > max) {
        rejected++;
        break;
      }
      // A better-ranked name (the newer vLLM one) wins over the others for its kind.
      if (w.rank < seenRank[w.kind]!) {
        seenRank[w.kind] = w.rank;
        sums[w.kind] = w.kind === 2 ? v : 0;
      }
      if (w.rank === seenRank[w.kind]) {
        if (w.kind === 2) sums[2] = Math.max(sums[2]!, v);
        else sums[w.kind]! += v;
      }
      break;
    }
  }
  return {
    queue: seenRank[0] === Infinity ? undefined : sums[0],
    running: seenRank[1] === Infinity ? undefined : sums[1],
    kvCache: seenRank[2] === Infinity ? undefined : sums[2],
    rejected,
  };
}

/** At most this many adapter names are taken from one page. */
const MAX_ADAPTERS = 1024;

/**
 * The LoRA adapters vLLM reports in `vllm:lora_requests_info` (labels
 * `running_lora_adapters` and `waiting_lora_adapters`, comma-separated): the
 * adapters it has requests for, so loaded; undefined when the page has no such
 * series. The model list (`/v1/models`) also names the idle ones.
 */
export function loraAdapters(text: string): Set<string> | undefined {
  let found: Set<string> | undefined;
  let at = text.indexOf('vllm:lora_requests_info{');
  while (at >= 0) {
    const close = text.indexOf('}', at);
    if (close < 0) break;
    const labels = text.slice(at, close);
    for (const label of ['running_lora_adapters="', 'waiting_lora_adapters="']) {
      const start = labels.indexOf(label);
      if (start < 0) continue;
      const end = labels.indexOf('"', start + label.length);
      if (end < 0) continue;
      found ??= new Set();
      for (const name of labels.slice(start + label.length, end).split(',')) {
        const trimmed = name.trim();
        if (trimmed !== '' && trimmed.length <= 512 && found.size < MAX_ADAPTERS) found.add(trimmed);
      }
    }
    at = text.indexOf('vllm:lora_requests_info{', close);
  }
  return found;
}
