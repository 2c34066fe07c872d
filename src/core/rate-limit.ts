/**
 * Per-client token buckets: `burst` tokens, refilled at `perSec` tokens per second; one
 * request (HTTP request, stream frame, relay-network offer or forwarded request) takes one
 * token. burst = 0 disables limiting.
 * The clock is passed in; idle buckets are forgotten so memory stays bounded.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSec: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 100_000,
  ) {}

  /** True if `client` may proceed now (and takes its token). */
  take(client: string): boolean {
    if (this.burst === 0) return true;
    const now = this.now();
    let b = this.buckets.get(client);
    if (b === undefined) {
      if (this.buckets.size >= this.maxClients) this.forgetFull(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(client, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSec);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets that have refilled completely: they behave exactly like new ones. */
  private forgetFull(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSec >= this.burst) this.buckets.delete(k);
    }
    if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/** A token bucket's size and refill rate (tokens per second); burst 0: no limit. */
export interface RateLimit {
  burst: number;
  perSec: number;
}
