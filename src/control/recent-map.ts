// A bounded memory of recent keys: two generations, and when the young one
// fills, the old one is forgotten. Roughly least-recently-set eviction at the
// cost of two Map operations, with no per-entry bookkeeping.
export class RecentMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  /** `generation`: entries per generation (up to twice as many are remembered). */
  constructor(private readonly generation: number) {}

  get(key: string): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: string, value: V): void {
    this.young.set(key, value);
    if (this.young.size < this.generation) return;
    this.old = this.young;
    this.young = new Map();
  }
}
