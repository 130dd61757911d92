import type { Clock } from '../support/clock.ts';
import { storableClientId } from './client-authentication.ts';
import type { SharedFailureStore } from './shared-failure-store.ts';

/** Limits of failed client authentications per fixed window. */
export interface FailureLimits {
  windowSeconds: number;
  /** Failures allowed for one client ID from one address (or from all addresses: see `accounts`). */
  failuresPerClient: number;
  failuresPerIp: number;
  /**
   * Count failures per account name across all addresses, keeping the name as given (console
   * sign-in by email). Left out, the limiter counts OAuth client IDs, per client ID and address.
   */
  accounts?: boolean;
}

interface Window {
  count: number;
  windowStart: number;
}

const ipKey = (ip: string) => `ip ${ip}`;

/**
 * The key a client ID's failures are counted under: the ID and the address, so failures sent from
 * elsewhere never count against a client (client IDs are public: every token's `sub` names one).
 * The key is stored (auth_failures, Redis), so it holds the ID only in storable form.
 */
const clientAtAddressKey = (clientId: string, ip: string) => `client ${storableClientId(clientId)} from ${ip}`;

const accountKey = (account: string) => `client ${account.slice(0, 100)}`;

/**
 * Counts failed client authentications per client ID and source address, and per source address,
 * in fixed windows aligned to the epoch (so every instance agrees on window boundaries). Once either
 * passes its limit, further attempts for that client ID from that address, or from that address at
 * all, are throttled; other clients and addresses are unaffected. Client secrets carry 256 random
 * bits, so a global per-client count would stop no guessing, only let anyone lock a client out.
 * Successful requests are never counted, and `check` only reads memory: the hot path does two map
 * lookups. With `accounts` (console sign-in, where passwords can be guessed) a name's failures are
 * counted from every address together instead.
 *
 * With a database attached, failures are also added to a shared table and every instance pulls the
 * keys over their limit once a second (`syncShared`), so N instances enforce one budget together.
 */
export class FailureRateLimiter {
  private readonly windows = new Map<string, Window>();
  /** Keys that reached their limit here in the window ending at localBlocksEnd (ms). Usually empty. */
  private readonly localBlocks = new Set<string>();
  private localBlocksEnd = 0;
  /** Keys another instance (or this one) pushed over the limit: key → window end (ms). */
  private readonly sharedBlocks = new Map<string, number>();

  constructor(
    private readonly limits: FailureLimits,
    private readonly clock: Clock,
    private readonly shared?: { store: SharedFailureStore; onError: (error: unknown) => void },
  ) {}

  private limitOf = (key: string): number => (key.startsWith('ip ') ? this.limits.failuresPerIp : this.limits.failuresPerClient);

  private windowStart(now: number): number {
    const size = this.limits.windowSeconds * 1000;
    return Math.floor(now / size) * size;
  }

  private clientKey(clientId: string, ip: string): string {
    return this.limits.accounts === true ? accountKey(clientId) : clientAtAddressKey(clientId, ip);
  }

  /** Seconds until the caller may try again, with who is limited, or null. */
  check(ip: string, clientId: string | undefined, now = this.clock.now()): { retryAfter: number; what: string } | null {
    // Windows are aligned, so every local block ends at once.
    if (this.localBlocks.size > 0 && now >= this.localBlocksEnd) this.localBlocks.clear();
    // The common case, nobody limited: no key strings to build and look up.
    if (this.localBlocks.size === 0 && this.sharedBlocks.size === 0) return null;
    const byIp = this.blockedFor(ipKey(ip), now);
    if (byIp > 0) return { retryAfter: byIp, what: 'from this address' };
    if (clientId !== undefined) {
      const byClient = this.blockedFor(this.clientKey(clientId, ip), now);
      if (byClient > 0) return { retryAfter: byClient, what: this.limits.accounts === true ? 'for this account' : 'for this client_id from this address' };
    }
    return null;
  }

  /** Counts one failure against the IP and the client ID (from that IP). */
  recordFailure(ip: string, clientId: string | undefined): void {
    const now = this.clock.now();
    const keys = clientId === undefined ? [ipKey(ip)] : [ipKey(ip), this.clientKey(clientId, ip)];
    for (const key of keys) this.bump(key, now);
    if (this.shared) this.shared.store.add(keys, this.windowStart(now), this.limits.windowSeconds, this.limitOf).catch(this.shared.onError);
  }

  /** Pulls the keys over their limit in the current window from the shared table (a read). */
  async syncShared(): Promise<void> {
    if (!this.shared) return;
    const now = this.clock.now();
    const windowStart = this.windowStart(now);
    const windowEnd = windowStart + this.limits.windowSeconds * 1000;
    const keys = await this.shared.store.overLimit(windowStart, this.limitOf);
    this.sharedBlocks.clear();
    for (const key of keys) this.sharedBlocks.set(key, windowEnd);
  }

  /** Deletes past windows from the shared table (maintenance: a write, kept off the per-second sync). */
  async pruneShared(): Promise<void> {
    if (!this.shared) return;
    await this.shared.store.prune(this.windowStart(this.clock.now()));
  }

  private blockedFor(key: string, now: number): number {
    const end = Math.max(this.sharedBlocks.get(key) ?? 0, this.localBlocks.has(key) ? this.localBlocksEnd : 0);
    return end > now ? Math.max(1, Math.ceil((end - now) / 1000)) : 0;
  }

  private bump(key: string, now: number): void {
    const windowStart = this.windowStart(now);
    const window = this.windows.get(key);
    let count = 1;
    if (window && window.windowStart === windowStart) count = ++window.count;
    else {
      if (this.windows.size > 100_000) this.sweep(windowStart);
      this.windows.set(key, { count, windowStart });
    }
    if (count >= this.limitOf(key)) {
      const end = windowStart + this.limits.windowSeconds * 1000;
      if (end !== this.localBlocksEnd) this.localBlocks.clear();
      this.localBlocksEnd = end;
      this.localBlocks.add(key);
    }
  }

  private sweep(windowStart: number): void {
    for (const [key, window] of this.windows) if (window.windowStart !== windowStart) this.windows.delete(key);
  }
}
