import type { Clock } from '../support/clock.ts';

/** Limits of failed client authentications per fixed window. */
export interface FailureLimits {
  windowSeconds: number;
  failuresPerClient: number;
  failuresPerIp: number;
}

interface Window {
  count: number;
  resetsAt: number;
}

/**
 * Counts failed client authentications per client ID and per source IP in fixed windows. Once either
 * passes its limit, further attempts from that IP or for that client ID are refused with 429 before any
 * secret is checked; other clients and addresses are unaffected. Successful requests are never counted,
 * so the hot path only does two map lookups.
 */
export class FailureRateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limits: FailureLimits,
    private readonly clock: Clock,
  ) {}

  /** Seconds until the caller may try again, or 0 if not limited. `what` describes who is limited. */
  check(ip: string, clientId: string | undefined): { retryAfter: number; what: string } | null {
    const now = this.clock.now();
    const byIp = this.blockedFor(`ip ${ip}`, this.limits.failuresPerIp, now);
    if (byIp > 0) return { retryAfter: byIp, what: 'from this address' };
    if (clientId !== undefined) {
      const byClient = this.blockedFor(`client ${clientId.slice(0, 100)}`, this.limits.failuresPerClient, now);
      if (byClient > 0) return { retryAfter: byClient, what: 'for this client_id' };
    }
    return null;
  }

  /** Counts one failure against the IP and the client ID. */
  recordFailure(ip: string, clientId: string | undefined): void {
    const now = this.clock.now();
    this.bump(`ip ${ip}`, now);
    if (clientId !== undefined) this.bump(`client ${clientId.slice(0, 100)}`, now);
  }

  private blockedFor(key: string, limit: number, now: number): number {
    const window = this.windows.get(key);
    if (!window || window.resetsAt <= now || window.count < limit) return 0;
    return Math.max(1, Math.ceil((window.resetsAt - now) / 1000));
  }

  private bump(key: string, now: number): void {
    const window = this.windows.get(key);
    if (window && window.resetsAt > now) {
      window.count++;
      return;
    }
    if (this.windows.size > 100_000) this.sweep(now);
    this.windows.set(key, { count: 1, resetsAt: now + this.limits.windowSeconds * 1000 });
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetsAt <= now) this.windows.delete(key);
  }
}
