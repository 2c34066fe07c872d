/**
 * A bounded set of recently seen ids with a time to live: duplicate suppression for
 * queries and offers. When full, the oldest entry goes first; an id older than the ttl
 * counts as unseen (by then its timestamp window has closed and it is refused anyway).
 */
export class SeenSet {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  /** Records `id`; returns false when it was already present (a duplicate). */
  add(id: string): boolean {
    const t = this.now();
    const at = this.entries.get(id);
    if (at !== undefined && t - at < this.ttlMs) return false;
    this.entries.delete(id);
    this.entries.set(id, t);
    this.prune(t);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(t: number): void {
    for (const [id, at] of this.entries) {
      if (this.entries.size <= this.capacity && t - at < this.ttlMs) break;
      this.entries.delete(id);
    }
  }
}
