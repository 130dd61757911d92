import type { Database } from '../storage/database.ts';
import { appendAuditBatch } from '../storage/audit-log.ts';
import { writeUsage } from '../storage/repositories/usage.ts';
import type { Clock } from '../support/clock.ts';
import type { ActionContext, AuditEntryInput } from './audit.ts';

const AUDIT_CHUNK = 500;
/** Buffered audit entries that start a flush before the timer does (a burst of minting). */
const AUDIT_EARLY_FLUSH = 2_000;

interface DayCounts {
  integrationId: string;
  day: string;
  minted: number;
  cached: number;
  failures: number;
}

/** What one token request contributes to usage and audit. */
export interface TokenUsageEvent {
  integrationId: string | undefined;
  clientId: string | undefined;
  environmentId: string | undefined;
  secretGeneration: number | undefined;
  outcome: string;
  scopes: readonly string[];
  audience: string | undefined;
  ip: string;
  /** The grant asked for, when it is a supported one; a token exchange (browser token) is audited as one. */
  grantType?: string | undefined;
  /** A token exchange only: whether the browser token was bound to a key (DPoP). */
  dpopBound?: boolean | undefined;
}

/** The grant whose audit entries say so (RFC 8693 token exchange: browser tokens). */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * Counts token issuance per integration and day in memory and writes the counts, `last_used_at`,
 * and the audit entries of minted tokens and failures in one flush every `flushSeconds`. The
 * cached-token path therefore costs a map update, never a database write. A crash loses at most the
 * events of the last flush interval (2 s in the server); a graceful stop flushes first.
 */
export class UsageRecorder {
  /** Counts of the current UTC day by integration ID (no key to build on the hot path). */
  private counts = new Map<string, DayCounts>();
  /** Counts of earlier days not written yet (a day boundary passed, or a flush failed). */
  private earlier: DayCounts[] = [];
  private lastUsed = new Map<string, { at: number; generation: number | undefined }>();
  private audit: { context: ActionContext; entry: AuditEntryInput }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  // The UTC day of the current request, recomputed only when a day boundary is crossed.
  private day = '';
  private dayEndsAt = 0;
  private droppedSinceFlush = 0;
  /** Audit entries dropped because the buffer was full, since start (a metric). */
  auditEntriesDropped = 0;

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    private readonly options: { maxAuditBuffer?: number; onAuditDropped?: (count: number) => void } = {},
  ) {
    this.maxAuditBuffer = options.maxAuditBuffer ?? 10_000;
  }

  private readonly maxAuditBuffer: number;

  /** Starts periodic flushing. */
  start(flushSeconds: number): void {
    this.timer = setInterval(() => void this.flush(), flushSeconds * 1000);
    this.timer.unref();
  }

  /** Records one token request. */
  record(event: TokenUsageEvent): void {
    const now = this.clock.now();
    const success = event.outcome === 'minted' || event.outcome === 'cached';
    if (event.integrationId !== undefined) {
      if (now >= this.dayEndsAt || now < this.dayEndsAt - 86400_000) {
        this.day = new Date(now).toISOString().slice(0, 10);
        this.dayEndsAt = (Math.floor(now / 86400_000) + 1) * 86400_000;
        this.earlier.push(...this.counts.values());
        this.counts = new Map();
      }
      let counts = this.counts.get(event.integrationId);
      if (!counts) this.counts.set(event.integrationId, (counts = { integrationId: event.integrationId, day: this.day, minted: 0, cached: 0, failures: 0 }));
      if (event.outcome === 'minted') counts.minted++;
      else if (event.outcome === 'cached') counts.cached++;
      else counts.failures++;
      if (success) {
        const used = this.lastUsed.get(event.integrationId);
        if (used) {
          used.at = now;
          used.generation = event.secretGeneration;
        } else this.lastUsed.set(event.integrationId, { at: now, generation: event.secretGeneration });
      }
    }
    // Cached hits are counted, not audited one by one (checklist 30).
    if (event.outcome === 'cached') return;
    if (this.audit.length >= this.maxAuditBuffer) {
      // Only while the database cannot keep up or is down: a full buffer starts flushes early.
      this.droppedSinceFlush++;
      this.auditEntriesDropped++;
      return;
    }
    this.audit.push({
      context: { actor: { type: 'integration', id: event.clientId ?? 'unknown', environmentId: event.environmentId ?? '' }, ip: event.ip },
      entry: {
        at: now,
        environmentId: event.environmentId ?? null,
        action: 'token.issue',
        targetType: 'audience',
        targetId: event.audience ?? '-',
        outcome: success ? 'success' : event.outcome,
        // A browser token is told apart from a backend token by its grant (and whether it is key-bound).
        details: event.grantType === TOKEN_EXCHANGE ? { scopes: event.scopes, grantType: 'token-exchange', browserToken: true, dpopBound: event.dpopBound === true } : { scopes: event.scopes },
      },
    });
    // Minting thousands of tokens a second fills the buffer long before the timer fires. Only the
    // audit entries go early: the counts and last-used times (a few statements over every integration
    // used) keep the timer's pace, which under load saved about 3% of the event loop.
    if (this.audit.length >= AUDIT_EARLY_FLUSH && this.timer !== undefined && this.flushing === null) void this.flush(true);
  }

  /** Writes everything counted so far (with `auditOnly`, only the audit entries). */
  flush(auditOnly = false): Promise<void> {
    // A flush under way writes only what was recorded before it began: wait for it, then write the rest.
    if (this.flushing !== null) return this.flushing.then(() => this.flush(auditOnly));
    this.flushing = this.write(auditOnly).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops the timer and flushes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(auditOnly: boolean): Promise<void> {
    const counts = auditOnly ? [] : [...this.earlier, ...this.counts.values()];
    const lastUsed = auditOnly ? [] : [...this.lastUsed.entries()];
    const audit = this.audit;
    if (!auditOnly) {
      this.counts = new Map();
      this.earlier = [];
      this.lastUsed = new Map();
    }
    this.audit = [];
    if (this.droppedSinceFlush > 0) {
      this.options.onAuditDropped?.(this.droppedSinceFlush);
      this.droppedSinceFlush = 0;
    }
    if (counts.length === 0 && lastUsed.length === 0 && audit.length === 0) return;
    if (counts.length > 0 || lastUsed.length > 0) {
      try {
        await writeUsage(this.database, counts, lastUsed);
      } catch (error) {
        // Keep the counts for the next flush (the database may be back by then): the transaction
        // wrote all of them or none, so nothing is counted twice.
        for (const c of counts) {
          const current = this.counts.get(c.integrationId);
          if (current?.day === c.day) {
            current.minted += c.minted;
            current.cached += c.cached;
            current.failures += c.failures;
          } else if (!current && c.day === this.day) this.counts.set(c.integrationId, c);
          else this.earlier.push(c);
        }
        for (const [id, used] of lastUsed) if (!this.lastUsed.has(id)) this.lastUsed.set(id, used);
        this.keepAudit(audit);
        this.onError(error);
        return;
      }
    }
    // Audit entries go in one statement per chunk, each its own transaction, so a flush of thousands
    // of entries never holds the connection long enough to stall token mints. A chunk is written
    // whole or not at all; what was not written is kept for the next flush.
    for (let i = 0; i < audit.length; i += AUDIT_CHUNK) {
      try {
        await appendAuditBatch(this.database.db, audit.slice(i, i + AUDIT_CHUNK));
      } catch (error) {
        this.keepAudit(audit.slice(i));
        this.onError(error);
        return;
      }
    }
  }

  /** Puts unwritten audit entries back in front of newer ones, within the buffer's bound. */
  private keepAudit(unwritten: UsageRecorder['audit']): void {
    this.audit = [...unwritten, ...this.audit].slice(0, this.maxAuditBuffer);
  }
}

export { readUsage } from '../storage/repositories/usage.ts';
