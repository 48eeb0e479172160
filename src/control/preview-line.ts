// Reads the fields a preview replays from a decision-log line without parsing
// all of it. A line as DecisionLines writes it (observe/decision-log.ts: fixed
// field order, strings quoted plainly when they need no escape) is read by
// position, its context parsed once per distinct context text; anything else
// (an escape, another order, a line not ending in `}`) is left to JSON.parse,
// which then also judges whether it is corrupt. Parsing whole lines was most
// of a preview's time: a line is ~480 bytes, of which the replay reads ~60.

/** A decision line's fields the replay reads (the rest of the line is ignored). */
export interface LoggedDecision {
  via?: unknown;
  objective?: unknown;
  unit?: unknown;
  context?: unknown;
  trafficClass?: unknown;
  rule?: unknown;
  target?: unknown;
  requestId?: unknown;
}

/** Distinct context texts remembered (most logs have few: the keys rules read, with their values). */
const MAX_CONTEXTS = 4096;

export class LineReader {
  private readonly contexts = new Map<string, unknown>();
  /** Filled per line and handed out: the caller reads it before the next line. */
  private readonly fields: LoggedDecision = {};

  /** The line's fields, or undefined when it is not in the writer's shape (JSON.parse it instead). */
  read(line: string): LoggedDecision | undefined {
    if (!line.startsWith('{"time":"') || line.charCodeAt(line.length - 1) !== 0x7d) return undefined;
    const f = this.fields;
    let at = 9;
    if ((at = this.string(line, at, ',"requestId":')) < 0) return undefined;
    f.requestId = this.value;
    if ((at = this.string(line, at, ',"via":')) < 0) return undefined;
    f.via = this.value;
    if ((at = this.string(line, at, ',"objective":')) < 0) return undefined;
    f.objective = this.value;
    if ((at = this.string(line, at, ',"unit":')) < 0) return undefined;
    f.unit = this.value;
    const c = line.indexOf(',"context":', at);
    const rule = line.indexOf(',"rule":', c);
    if (c < 0 || rule < 0) return undefined;
    const text = line.slice(c + 11, rule);
    const context = this.context(text);
    if (context === undefined) return undefined;
    f.context = context;
    if ((at = this.string(line, rule, ',"rule":')) < 0) return undefined;
    f.rule = this.value;
    if ((at = this.string(line, at, ',"target":')) < 0) return undefined;
    f.target = this.value;
    if (this.string(line, at, ',"trafficClass":') < 0) return undefined;
    f.trafficClass = this.value;
    return f;
  }

  private value: string | null = null;

  /** Finds `key` from `at`, reads its value (a plain string or null) into `value`; the position after it, or -1. */
  private string(line: string, at: number, key: string): number {
    const k = line.indexOf(key, at);
    if (k < 0) return -1;
    const v = k + key.length;
    if (line.charCodeAt(v) === 0x6e /* n */ && line.startsWith('null', v)) {
      this.value = null;
      return v + 4;
    }
    if (line.charCodeAt(v) !== 0x22) return -1;
    const end = line.indexOf('"', v + 1);
    if (end < 0) return -1;
    const slash = line.indexOf('\\', v + 1);
    if (slash !== -1 && slash < end) return -1; // an escape: JSON.parse reads it right
    this.value = line.slice(v + 1, end);
    return end + 1;
  }

  private context(text: string): unknown {
    if (text === '{}') return EMPTY;
    let context = this.contexts.get(text);
    if (context === undefined) {
      try {
        context = JSON.parse(text);
      } catch {
        return undefined;
      }
      if (this.contexts.size >= MAX_CONTEXTS) this.contexts.clear();
      this.contexts.set(text, context);
    }
    return context;
  }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});
