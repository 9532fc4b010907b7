// A token bucket: `ratePerSecond` tokens flow in, at most `burst` are kept. Pure:
// the caller passes the clock, so the arithmetic is unit-tested without waiting.
// Each take reserves its token at once (possibly going into debt), so concurrent
// callers queue in order instead of all waking at the same refill.

export interface TokenBucketOptions {
  ratePerSecond: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number | undefined;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) throw new RangeError(`rate must be a positive number, got ${options.ratePerSecond}`);
    if (!Number.isInteger(options.burst) || options.burst < 1) throw new RangeError(`burst must be a whole number of at least 1, got ${options.burst}`);
    this.tokens = options.burst;
  }

  /** Takes one token at `nowMs`; returns how long the caller must wait before using it (0: go now). */
  reserve(nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.options.ratePerSecond;
  }

  private refill(nowMs: number): void {
    if (this.updatedAt !== undefined && nowMs > this.updatedAt) {
      const added = ((nowMs - this.updatedAt) * this.options.ratePerSecond) / 1000;
      this.tokens = Math.min(this.options.burst, this.tokens + added);
    }
    if (this.updatedAt === undefined || nowMs > this.updatedAt) this.updatedAt = nowMs;
  }
}
