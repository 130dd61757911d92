import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { readRevocationsAfter, type RevocationEntry, type SequencedRevocation } from './revocations.ts';

/** The claims a revocation check looks at. */
export interface RevocableClaims {
  jti: string;
  client_id: string;
  iat: number;
  environment?: unknown;
}

/** Where each revoked thing stands: what a check needs, kept per key. */
class RevocationIndex {
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, { notBefore: number; expiresAt: number }>();
  private readonly environments = new Map<string, { notBefore: number; expiresAt: number }>();
  version = 0;

  apply(entry: RevocationEntry): void {
    if (entry.type === 'token') {
      const known = this.tokens.get(entry.jti);
      if (known !== undefined && known >= entry.expiresAt) return;
      this.tokens.set(entry.jti, entry.expiresAt);
    } else {
      const map = entry.type === 'client' ? this.clients : this.environments;
      const key = entry.type === 'client' ? entry.clientId : entry.environmentId;
      const known = map.get(key);
      if (known !== undefined && known.notBefore >= entry.notBefore && known.expiresAt >= entry.expiresAt) return;
      map.set(key, { notBefore: Math.max(known?.notBefore ?? 0, entry.notBefore), expiresAt: Math.max(known?.expiresAt ?? 0, entry.expiresAt) });
    }
    this.version++;
  }

  isRevoked(claims: RevocableClaims): boolean {
    if (this.tokens.has(claims.jti)) return true;
    const client = this.clients.get(claims.client_id);
    if (client !== undefined && claims.iat < client.notBefore) return true;
    if (typeof claims.environment !== 'string') return false;
    const environment = this.environments.get(claims.environment);
    return environment !== undefined && claims.iat < environment.notBefore;
  }

  environmentNotBefore(environmentId: string): number {
    return this.environments.get(environmentId)?.notBefore ?? 0;
  }

  prune(nowSeconds: number): void {
    let removed = false;
    for (const [jti, expiresAt] of this.tokens) if (expiresAt < nowSeconds) removed = this.tokens.delete(jti);
    for (const map of [this.clients, this.environments]) for (const [key, value] of map) if (value.expiresAt < nowSeconds) removed = map.delete(key);
    if (removed) this.version++;
  }

  get size(): number {
    return this.tokens.size + this.clients.size + this.environments.size;
  }
}

/** What a client or environment entry is about, as one key. */
function subjectOf(entry: RevocationEntry): string {
  return entry.type === 'client' ? `client ${entry.clientId}` : entry.type === 'environment' ? `environment ${entry.environmentId}` : `token ${entry.jti}`;
}

/** Called with revocations in feed order, as this process reads them. */
export type RevocationListener = (revocations: readonly SequencedRevocation[]) => void;

/**
 * This process's view of every live revocation: what the token endpoint, the Platform and
 * Environment APIs and introspection check, and what the feed (http/routes/revocation-feed.ts)
 * serves to resource servers. It reads the `revocations` table in seq order: everything live at
 * start, then whatever is newer whenever the change bus says a revocation was written — at once for a
 * write made in this process, within the change-feed bound for one made elsewhere.
 */
export class RevocationList {
  private readonly index = new RevocationIndex();
  /** Live revocations in feed order (for the feed's backlog). */
  private log: SequencedRevocation[] = [];
  private cursorSeq = 0;
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private readonly listeners = new Set<RevocationListener>();

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  /** The highest seq read so far: the feed cursor of this process. */
  get cursor(): number {
    return this.cursorSeq;
  }

  /** Moves whenever a revocation is added or one expires: cached verifications re-check when it moved. */
  get version(): number {
    return this.index.version;
  }

  /** How many revocations are live. */
  get size(): number {
    return this.index.size;
  }

  /** Whether a token with these (verified) claims is revoked. */
  isRevoked(claims: RevocableClaims): boolean {
    return this.index.isRevoked(claims);
  }

  /** The earliest `iat` a new token of this environment may carry (seconds; 0 when none is set). */
  environmentNotBefore(environmentId: string): number {
    return this.index.environmentNotBefore(environmentId);
  }

  /**
   * Reads every revocation written since the last read, in seq order. Calls made while a read is
   * under way get a read that starts after it, so a caller that has just committed a revocation is
   * sure to see it once this resolves.
   */
  catchUp(): Promise<void> {
    if (this.next) return this.next;
    if (this.current) {
      this.next = this.current
        .catch(() => {})
        .then(() => {
          this.next = undefined;
          return this.catchUp();
        });
      return this.next;
    }
    this.current = this.readNewer().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async readNewer(): Promise<void> {
    const nowSeconds = this.clock.now() / 1000;
    for (;;) {
      const { revocations, lastSeq, full } = await readRevocationsAfter(this.database, this.cursorSeq);
      this.cursorSeq = lastSeq;
      const live = revocations.filter((revocation) => revocation.entry.expiresAt >= nowSeconds);
      for (const revocation of live) this.index.apply(revocation.entry);
      if (live.length > 0) {
        // A client or environment entry supersedes the earlier ones for the same subject (as in the table).
        const superseded = new Set(live.filter(({ entry }) => entry.type !== 'token').map(({ entry }) => subjectOf(entry)));
        if (superseded.size > 0) this.log = this.log.filter(({ entry }) => entry.type === 'token' || !superseded.has(subjectOf(entry)));
        this.log.push(...live);
        for (const listener of this.listeners) listener(live);
      }
      if (!full) return;
    }
  }

  /** Live revocations after `cursor` (all of them when undefined), at most `limit`, in feed order. */
  entriesAfter(cursor: number | undefined, limit: number): { revocations: SequencedRevocation[]; cursor: number; hasMore: boolean } {
    const after = cursor ?? 0;
    const nowSeconds = this.clock.now() / 1000;
    let start = this.firstAfter(after);
    const revocations: SequencedRevocation[] = [];
    for (; start < this.log.length && revocations.length < limit; start++) {
      const revocation = this.log[start]!;
      if (revocation.entry.expiresAt >= nowSeconds) revocations.push(revocation);
    }
    const hasMore = start < this.log.length;
    const last = revocations.length > 0 ? revocations[revocations.length - 1]!.seq : hasMore ? this.log[start - 1]!.seq : Math.max(after, this.cursorSeq);
    return { revocations, cursor: last, hasMore };
  }

  /** Index of the first logged revocation with seq > `after` (binary search; the log is in seq order). */
  private firstAfter(after: number): number {
    let low = 0;
    let high = this.log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.log[middle]!.seq <= after) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Hears of every revocation read from now on, in feed order; returns the function that stops it. */
  subscribe(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets revocations whose tokens have all expired. */
  prune(): void {
    const nowSeconds = this.clock.now() / 1000;
    this.index.prune(nowSeconds);
    this.log = this.log.filter((revocation) => revocation.entry.expiresAt >= nowSeconds);
  }
}
