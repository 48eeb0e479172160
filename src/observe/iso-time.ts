// Date#toISOString for a stream of times close together (one per request in
// the decision log). V8 formats every call through snprintf, about 7,000
// instructions measured with callgrind, ~1.5 % of a proxied request; the part
// up to the second changes once a second, so it is formatted once and the
// milliseconds are appended.

export class IsoTime {
  private second = Number.NaN;
  private prefix = '';

  /** The same string as `new Date(epochMs).toISOString()`, for times within years 0–9999. */
  format(epochMs: number): string {
    const ms = Math.floor(epochMs);
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.prefix = new Date(second * 1000).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
    }
    const frac = ms - second * 1000;
    return `${this.prefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
  }
}
