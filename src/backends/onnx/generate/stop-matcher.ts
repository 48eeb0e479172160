// Honours `stop` sequences on a token stream without ever emitting any part of
// a stop sequence: text that could still be the start of one is held back
// until the next tokens decide.
export class StopMatcher {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Adds generated text; returns what may be emitted, and whether a stop sequence ended generation. */
  push(text: string): { emit: string; stopped: boolean } {
    const pending = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const at = pending.indexOf(s);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.held = '';
      return { emit: pending.slice(0, cut), stopped: true };
    }
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, pending.length); n > keep; n--) {
        if (pending.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    this.held = pending.slice(pending.length - keep);
    return { emit: pending.slice(0, pending.length - keep), stopped: false };
  }

  /** Text held back when generation ends for another reason. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
