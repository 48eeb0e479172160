// A tiny path matcher: the data plane has about a dozen fixed routes, so a
// linear scan over precompiled segment patterns beats a general router.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestRecord } from '../observe/record.js';
import type { DataPlane } from './data-plane.js';
import type { Face } from './error-reply.js';

export type Params = Record<string, string>;

export interface RouteContext {
  dp: DataPlane;
  req: IncomingMessage;
  res: ServerResponse;
  record: RequestRecord;
  params: Params;
  /** Query string with its `?`, or ''. */
  query: string;
}

export interface Route {
  methods: readonly string[];
  /** `/v1/objectives/:objective`; `:name` matches one non-empty segment. */
  pattern: string;
  /** Error shape for failures on this route. */
  face: Face;
  handle(ctx: RouteContext): Promise<void> | void;
}

export type Matcher = (segments: readonly string[]) => Params | undefined;

export function compilePattern(pattern: string): Matcher {
  const parts = pattern.split('/').slice(1);
  return (segments) => {
    if (segments.length !== parts.length) return undefined;
    let params: Params | undefined;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const s = segments[i]!;
      if (p.charCodeAt(0) === 58 /* : */) {
        if (s === '') return undefined;
        (params ??= {})[p.slice(1)] = decodeSegment(s);
      } else if (p !== s) {
        return undefined;
      }
    }
    return params ?? {};
  };
}

function decodeSegment(s: string): string {
  return s.includes('%') ? decodeURIComponent(s) : s;
}
