// One pass over JSON text that JSON.parse has already accepted: where given
// paths are written, and which keys appear twice in one object (JSON.parse
// silently keeps the last one). Positions come from here rather than from a
// YAML document of the text because a generated JSON config can be large and
// deep: the YAML tree of 1 MB of JSON needs ~200 MB and its parser recurses
// per level, while JSON.parse accepts 100,000 levels. So this walk is
// iterative, keeps one frame per open container, and allocates a path only
// for a duplicate it reports.

/** Where a wanted path is in the text (UTF-16 offsets). */
export interface JsonSpot {
  /** The member's key when the value is an object member. */
  keyAt: number | undefined;
  valueAt: number;
  /** The value is an object or an array (then its key is where a reader looks). */
  container: boolean;
}

export interface DuplicateKey {
  /** Path of the object the key appears twice in. */
  at: PropertyKey[];
  key: string;
  /** Offset of the later occurrence (the one JSON.parse kept). */
  offset: number;
}

interface Want {
  children: Map<PropertyKey, Want>;
  /** Indices into the caller's list of paths that end here. */
  ends: number[];
  spot?: JsonSpot;
}

interface Frame {
  object: boolean;
  /** The member key or element index being read. */
  key: string | number;
  keys: Set<string> | undefined;
  want: Want | undefined;
}

export interface JsonScan {
  spots: (JsonSpot | undefined)[];
  duplicates: DuplicateKey[];
}

/**
 * Scans `text` (valid JSON) once. `paths` are the places to find, as keys and
 * indices; for a member written twice the later one is found, as JSON.parse
 * keeps it. With `duplicates`, keys repeated within an object are listed.
 */
export function scanJson(text: string, paths: readonly (readonly PropertyKey[])[], duplicates = false): JsonScan {
  const root = trie(paths);
  const found: DuplicateKey[] = [];
  const frames: Frame[] = [];
  let want: Want | undefined = root;
  let keyAt: number | undefined;
  let i = skipSpace(text, 0);

  for (;;) {
    // A value starts at i.
    const c = text.charCodeAt(i);
    if (want !== undefined && want.ends.length > 0)
      want.spot = { keyAt, valueAt: i, container: c === 0x7b || c === 0x5b };
    let member = false;
    if (c === 0x7b || c === 0x5b) {
      const object = c === 0x7b;
      const inner = skipSpace(text, i + 1);
      const next = text.charCodeAt(inner);
      if (next === 0x7d || next === 0x5d)
        i = skipSpace(text, inner + 1); // empty: on to what follows it
      else {
        frames.push({ object, key: 0, keys: object && duplicates ? new Set() : undefined, want });
        i = inner;
        if (object) member = true;
        else {
          want = want?.children.get(0);
          keyAt = undefined;
          continue;
        }
      }
    } else {
      i = skipSpace(text, c === 0x22 ? stringEnd(text, i) : scalarEnd(text, i));
    }

    // After a value (or at an object's first key): move to the next value.
    for (; !member;) {
      const frame = frames.at(-1);
      if (frame === undefined) return { spots: spotsOf(root, paths.length), duplicates: found };
      const sep = text.charCodeAt(i);
      if (sep === 0x2c) {
        i = skipSpace(text, i + 1);
        if (frame.object) member = true;
        else {
          frame.key = (frame.key as number) + 1;
          want = frame.want?.children.get(frame.key);
          keyAt = undefined;
          break;
        }
      } else if (sep === 0x7d || sep === 0x5d) {
        frames.pop();
        i = skipSpace(text, i + 1);
      } else {
        // Not the JSON JSON.parse accepted: report what was found so far.
        return { spots: spotsOf(root, paths.length), duplicates: found };
      }
    }
    if (member) {
      const frame = frames.at(-1)!;
      const start = i;
      i = stringEnd(text, i);
      const raw = text.slice(start + 1, i - 1);
      const key = raw.includes('\\') ? (JSON.parse(text.slice(start, i)) as string) : raw;
      if (frame.keys !== undefined) {
        if (frame.keys.has(key)) found.push({ at: frames.slice(0, -1).map((f) => f.key), key, offset: start });
        else frame.keys.add(key);
      }
      frame.key = key;
      want = frame.want?.children.get(key);
      keyAt = start;
      i = skipSpace(text, skipSpace(text, i) + 1); // past the colon
    }
  }
}

function trie(paths: readonly (readonly PropertyKey[])[]): Want {
  const root: Want = { children: new Map(), ends: [] };
  paths.forEach((path, n) => {
    let node = root;
    for (const segment of path) {
      const key = typeof segment === 'number' ? segment : String(segment);
      let child = node.children.get(key);
      if (child === undefined) node.children.set(key, (child = { children: new Map(), ends: [] }));
      node = child;
    }
    node.ends.push(n);
  });
  return root;
}

function spotsOf(root: Want, count: number): (JsonSpot | undefined)[] {
  const spots = new Array<JsonSpot | undefined>(count).fill(undefined);
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    for (const n of node.ends) spots[n] = node.spot;
    stack.push(...node.children.values());
  }
  return spots;
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** The offset just past the string starting at `i` (a quote). */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** The offset just past a number, true, false or null. */
function scalarEnd(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (
      Number.isNaN(c) ||
      c === 0x2c ||
      c === 0x7d ||
      c === 0x5d ||
      c === 0x20 ||
      c === 0x0a ||
      c === 0x0d ||
      c === 0x09
    )
      return i;
    i++;
  }
}
