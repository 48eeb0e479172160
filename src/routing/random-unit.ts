// The random unit a caller hands to decide() when a request has no x-unit-id:
// allocation is then random per request (SPEC §2.1, `unit: none`), while
// decide() itself stays a pure function of what it is given.
export function randomUnit(): string {
  return Math.random().toString(36).slice(2);
}
