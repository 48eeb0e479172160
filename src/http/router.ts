// The one router every listener uses (data plane, admin API): routes grouped
// by their number of segments, then a linear scan over precompiled segment
// patterns, which beats a general router for a few dozen fixed routes. Matching
// throws only a JunctionError: a malformed percent-escape in a parameter of a
// route whose literal segments all matched is the caller's error (400), which
// the request boundary answers.
import { JunctionError } from '../errors.js';

export type Params = Record<string, string>;

/** What any router needs of a route. */
export interface Routable {
  readonly methods: readonly string[];
  readonly pattern: string;
}

/** Matches a path split on '/' (for an origin-form path, the empty string before the leading slash comes first). */
export type Matcher = (segments: readonly string[]) => Params | undefined;

export function compilePattern(pattern: string): Matcher {
  const parts = pattern.split('/');
  /** The parameter's name at each position (`:objective` → `objective`), undefined for a literal segment. */
  const names = parts.map((p) => (p.charCodeAt(0) === 58 /* : */ ? p.slice(1) : undefined));
  return (segments) => {
    if (segments.length !== parts.length) return undefined;
    for (let i = 0; i < parts.length; i++) {
      if (names[i] === undefined ? parts[i] !== segments[i] : segments[i] === '') return undefined;
    }
    // Decoded only once every literal matched: a bad escape on another route's path is not this route's 400.
    const params: Params = {};
    for (let i = 0; i < parts.length; i++) {
      const name = names[i];
      if (name !== undefined) params[name] = decodeSegment(segments[i]!);
    }
    return params;
  };
}

/** A path segment's percent-escapes decoded; a malformed escape (`%ZZ`, a trailing `%`) is a 400, never a thrown URIError. */
export function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw new JunctionError('invalid_request', `malformed percent-escape in path segment "${s.slice(0, 100)}"`);
  }
}

export type RouteMatch<R> =
  | { route: R; params: Params }
  /** The path matched but not the method: `allowed` lists the methods that would have; `near` is the first such route. */
  | { route: undefined; near: R | undefined; allowed: readonly string[] };

interface Compiled<R> {
  readonly route: R;
  readonly match: Matcher;
}

export class Router<R extends Routable> {
  /** By number of path segments: a request is only tried against routes of its own length. */
  private readonly bySegments = new Map<number, Array<Compiled<R>>>();

  constructor(routes: readonly R[]) {
    for (const route of routes) {
      const n = route.pattern.split('/').length;
      let group = this.bySegments.get(n);
      if (group === undefined) this.bySegments.set(n, (group = []));
      group.push({ route, match: compilePattern(route.pattern) });
    }
  }

  /** Throws only a JunctionError (a malformed escape), which the request boundary answers. */
  match(method: string, path: string): RouteMatch<R> {
    const segments = splitPath(path);
    let allowed: string[] | undefined;
    let near: R | undefined;
    const group = this.bySegments.get(segments.length);
    if (group === undefined) return { route: undefined, near: undefined, allowed: [] };
    for (const { route, match } of group) {
      const params = match(segments);
      if (params === undefined) continue;
      if (!route.methods.includes(method)) {
        near ??= route;
        (allowed ??= []).push(...route.methods);
        continue;
      }
      return { route, params };
    }
    return { route: undefined, near, allowed: allowed ? [...new Set(allowed)] : [] };
  }
}

/**
 * `path.split('/')`, written out: String#split with a string separator is a
 * runtime call in V8, ~2× the cost of this loop, and every request's path is split.
 */
export function splitPath(path: string): string[] {
  const segments: string[] = [];
  let from = 0;
  for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', from)) {
    segments.push(path.slice(from, slash));
    from = slash + 1;
  }
  segments.push(path.slice(from));
  return segments;
}
