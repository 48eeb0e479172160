// A JSON document in one canonical form, for the response cache's key: object
// keys sorted, no whitespace, strings re-escaped the one way JSON.stringify
// writes them, numbers exactly as written (never through a double, so a seed
// of 12345678901234567891 is not the one before it). Two bodies with the same
// canonical form are read alike by every JSON parser; anything that could be
// read two ways is refused (`undefined`) and the caller keys on the raw bytes
// instead: a repeated key (parsers keep the first or the last), text after the
// document, invalid UTF-8, nesting deeper than MAX_DEPTH.
//
// A small recursive-descent reader rather than JSON.parse: JSON.parse hides
// repeated keys and rounds numbers, the two things a key must not lose.

/** Deeper documents are keyed on their bytes (no real request nests this far). */
const MAX_DEPTH = 128;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface CanonicalJson {
  /** The whole document, canonical (top-level members in `omit` left out). */
  readonly text: string;
  /** A top-level object's members, each value canonical (omitted ones included); empty for any other document. */
  readonly top: ReadonlyMap<string, string>;
}

/** Thrown inside the reader only: the document cannot be keyed canonically. */
class NotCanonical extends Error {}

/**
 * The canonical form of `raw`, or undefined when it is not one JSON document
 * that every parser reads alike. `omit`: top-level members left out of `text`
 * (fields that do not change the answer), still reported in `top`.
 */
export function canonicalJson(raw: Buffer, omit?: ReadonlySet<string>): CanonicalJson | undefined {
  let source: string;
  try {
    source = UTF8.decode(raw);
  } catch {
    return undefined; // two byte strings could decode to one text
  }
  const reader = new Reader(source);
  const top = new Map<string, string>();
  try {
    reader.space();
    const text = reader.value(0, top, omit);
    reader.space();
    if (reader.pos !== source.length) return undefined;
    return { text, top };
  } catch (err) {
    if (err instanceof NotCanonical || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

class Reader {
  pos = 0;
  constructor(private readonly s: string) {}

  space(): void {
    const s = this.s;
    let c = s.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = s.charCodeAt(++this.pos);
  }

  value(depth: number, top?: Map<string, string>, omit?: ReadonlySet<string>): string {
    if (depth > MAX_DEPTH) throw new NotCanonical();
    const c = this.s[this.pos];
    if (c === '{') return this.object(depth, top, omit);
    if (c === '[') return this.array(depth);
    if (c === '"') return JSON.stringify(this.string());
    for (const literal of ['true', 'false', 'null']) {
      if (this.s.startsWith(literal, this.pos)) {
        this.pos += literal.length;
        return literal;
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.s);
    if (m === null) throw new NotCanonical();
    this.pos += m[0].length;
    return m[0];
  }

  private object(depth: number, top?: Map<string, string>, omit?: ReadonlySet<string>): string {
    this.pos++; // {
    const members = new Map<string, string>();
    this.space();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return '{}';
    }
    for (;;) {
      this.space();
      if (this.s[this.pos] !== '"') throw new NotCanonical();
      const key = this.string();
      if (members.has(key)) throw new NotCanonical();
      this.space();
      if (this.s[this.pos] !== ':') throw new NotCanonical();
      this.pos++;
      this.space();
      members.set(key, this.value(depth + 1));
      this.space();
      const next = this.s[this.pos++];
      if (next === '}') break;
      if (next !== ',') throw new NotCanonical();
    }
    const keys = [...members.keys()].sort();
    let out = '{';
    for (const key of keys) {
      const value = members.get(key)!;
      top?.set(key, value);
      if (omit?.has(key) === true && top !== undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${value}`;
    }
    return `${out}}`;
  }

  private array(depth: number): string {
    this.pos++; // [
    this.space();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return '[]';
    }
    const items: string[] = [];
    for (;;) {
      this.space();
      items.push(this.value(depth + 1));
      this.space();
      const next = this.s[this.pos++];
      if (next === ']') break;
      if (next !== ',') throw new NotCanonical();
    }
    return `[${items.join(',')}]`;
  }

  /** A string's decoded value; the reader stands after its closing quote. */
  private string(): string {
    const s = this.s;
    const start = this.pos; // the opening quote
    let escaped = false;
    let i = start + 1;
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c) || c < 0x20) throw new NotCanonical(); // unterminated, or a raw control character
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i++; // the escaped character (JSON.parse below checks the escape)
      }
      i++;
    }
    this.pos = i + 1;
    return escaped ? (JSON.parse(s.slice(start, i + 1)) as string) : s.slice(start + 1, i);
  }
}
