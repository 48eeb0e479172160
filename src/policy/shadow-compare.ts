// How a shadow's answer is compared with the live one. Each comparator returns
// an agreement in [0, 1] and whether that counts as agreeing; both go to
// telemetry. Only shadow copies with a comparator parse bodies, off the
// critical path.
import type { ShadowConfig } from '../config/schema.js';

export interface Comparison {
  agreement: number;
  agree: boolean;
}

export type Comparator = (live: Buffer, shadow: Buffer) => Comparison;

export function comparatorFor(cfg: ShadowConfig): Comparator | undefined {
  switch (cfg.compare) {
    case 'exact':
      return exact;
    case 'numeric':
      return numeric(cfg.tolerance ?? 1e-6);
    case 'topk-overlap':
      return topkOverlap(cfg.k ?? 10, cfg.tolerance ?? 0);
    default:
      return undefined;
  }
}

/** Byte-for-byte equal. */
export const exact: Comparator = (live, shadow) => {
  const agree = live.equals(shadow);
  return { agreement: agree ? 1 : 0, agree };
};

/**
 * Every number in the two JSON documents, in document order, within
 * `tolerance` (absolute) of its counterpart. Agreement is the share that is.
 */
export function numeric(tolerance: number): Comparator {
  return (live, shadow) => {
    const a = numbersIn(parse(live));
    const b = numbersIn(parse(shadow));
    if (a.length === 0 && b.length === 0) return exact(live, shadow);
    const n = Math.max(a.length, b.length);
    let close = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (Math.abs(a[i]! - b[i]!) <= tolerance) close++;
    return { agreement: close / n, agree: close === n };
  };
}

/**
 * Overlap of the top-k items of the first list found in each JSON document
 * (items are compared by their `id`, `label`, `title` or `name`, or their own
 * value). Agreement is |A ∩ B| / k; it agrees when at least 1 − tolerance.
 */
export function topkOverlap(k: number, tolerance: number): Comparator {
  return (live, shadow) => {
    const liveDoc = parse(live);
    const shadowDoc = parse(shadow);
    if (liveDoc === undefined || shadowDoc === undefined) return exact(live, shadow);
    const a = topK(liveDoc, k);
    const b = new Set(topK(shadowDoc, k));
    const size = Math.max(a.length, b.size);
    if (size === 0) return { agreement: 1, agree: true };
    let common = 0;
    for (const item of a) if (b.has(item)) common++;
    const agreement = common / size;
    return { agreement, agree: agreement >= 1 - tolerance - 1e-9 };
  };
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function numbersIn(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) for (const v of value) numbersIn(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) numbersIn(v, out);
  return out;
}

function topK(value: unknown, k: number): string[] {
  const list = firstList(value);
  if (list === undefined) return [];
  return list.slice(0, k).map(identity);
}

function firstList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) {
      const found = firstList(v);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function identity(item: unknown): string {
  if (item !== null && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    const key = o.id ?? o.label ?? o.title ?? o.name;
    if (key !== undefined) return typeof key === 'string' ? key : JSON.stringify(key);
  }
  return JSON.stringify(item);
}
