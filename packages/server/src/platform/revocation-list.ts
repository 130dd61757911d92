import { isRevocationEntry, RevocationSet, type RevocableClaims, type RevocationEntry, type RevocationSource, type RevocationStatus } from '@latchkey/resource';
import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { readRevocationsAfter, type SequencedRevocation } from './revocations.ts';

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
 *
 * It is the in-process revocation source of the server's own verifiers (@latchkey/resource's
 * `revocation: { source }`), so its APIs apply a revocation synchronously, with the very data
 * structure every resource server holds.
 */
export class RevocationList implements RevocationSource {
  private readonly index = new RevocationSet();
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

  /** Always live: this list is the authority's own. */
  status(): RevocationStatus {
    return this.index.status();
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
      // Rows this version cannot read as an entry (a newer server's) are skipped, never applied half-way.
      const live = revocations.filter((revocation) => isRevocationEntry(revocation.entry) && revocation.entry.expiresAt > nowSeconds);
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
      if (revocation.entry.expiresAt > nowSeconds) revocations.push(revocation);
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
    this.log = this.log.filter((revocation) => revocation.entry.expiresAt > nowSeconds);
  }
}
