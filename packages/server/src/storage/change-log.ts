import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Schema } from './schema.ts';
import type { Database } from './database.ts';
import { isTransientConflict } from '../support/database-errors.ts';
import { appendAudit, type ActionContext, type AuditEntryInput } from './audit-log.ts';

// The change log: the one port through which every write that others must hear of (a domain change,
// a signing key, a revocation) records its change-feed row and its audit entry, in the write's own
// transaction. Domain code (platform/, keys/, environment-api/) decides what to write and what the
// entry says; this module decides how it is recorded, ordered, retried and published.

/**
 * What a change is about: an integration (subject = its client ID), an environment, the signing
 * keys, or a revocation (subject = the revoked jti, client ID or environment id; the entry itself is
 * in the revocations table).
 */
export type ChangeKind = 'integration' | 'environment' | 'keys' | 'revocation';

/** What changed, as this process's caches hear of it. */
export interface ChangeNotice {
  kind: ChangeKind;
  subject: string;
  /** Its row in the change feed, when it has one. */
  seq?: number;
}

/** One row of the change feed. */
export interface Change extends ChangeNotice {
  seq: number;
}

/**
 * Appends to the change feed inside the caller's transaction, so the feed and the change it reports
 * commit together. Every process that caches what changed (servers, other instances) polls the feed
 * and drops its stale entries; this is how a CLI write reaches a running server.
 */
async function recordChange(trx: Kysely<Schema>, kind: ChangeKind, subject: string, now: number): Promise<number> {
  await serializeFeedWrites(trx);
  const { seq } = await trx.insertInto('changes').values({ kind, subject, at: now }).returning('seq').executeTakeFirstOrThrow();
  // PostgreSQL: wake every listening instance when this commits (delivered at commit, dropped on
  // rollback), so invalidation takes milliseconds instead of a poll interval. SQLite has no
  // equivalent; its readers rely on the poll.
  if (isPostgres(trx)) await sql`select pg_notify(${CHANGE_CHANNEL}, ${kind})`.execute(trx);
  return Number(seq);
}

/** The PostgreSQL notification channel of the change feed. */
const CHANGE_CHANNEL = 'latchkey_changes';

function isPostgres(db: Kysely<Schema>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

// Any constant shared by every writer of the feeds (changes, revocations).
const FEED_LOCK = 0x4c6b_4665;

/**
 * Makes feed rows commit in the order of their sequence numbers. Readers follow a feed by "seq after
 * my cursor"; on PostgreSQL two transactions can take seq 10 and 11 and commit 11 first, and a reader
 * that saw 11 would skip 10 for ever (a missed invalidation or revocation). A transaction-scoped
 * advisory lock, taken before the row gets its seq and held until commit, rules that out. Feed writes
 * are admin actions and revocations, rare enough to serialise. SQLite has one writer at a time already.
 */
export async function serializeFeedWrites(trx: Kysely<Schema>): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(${FEED_LOCK})`.execute(trx);
}

/** Something in this process that must hear of a change: a cache, a subscriber hub. */
export type ChangeListener = (changes: readonly ChangeNotice[]) => void | Promise<void>;

/**
 * This process's listeners of changes, whoever made them: a write made here (published before the
 * write answers, so the very next request sees it) or one another process made (from the change feed).
 */
export class ChangeBus {
  private readonly listeners = new Set<ChangeListener>();
  /**
   * Feed rows of writes made here, already told to the listeners at commit. When the feed brings
   * them back they are skipped: applying one again would only drop what was loaded since, after
   * the write and so already up to date (a client's first token, say, loaded between its creation
   * and the next poll, would be loaded twice). Each seq is removed when the feed passes it.
   */
  private readonly publishedHere = new Set<number>();

  constructor(private readonly onError: (error: unknown) => void = () => {}) {}

  /** Tells the listeners of changes this process just committed (writeWithChanges). */
  async publishCommitted(changes: readonly ChangeNotice[]): Promise<void> {
    for (const change of changes) if (change.seq !== undefined) this.publishedHere.add(change.seq);
    await this.publish(changes);
  }

  /** Tells the listeners of changes read from the feed, except those this process made and told already. */
  async publishFromFeed(changes: readonly Change[]): Promise<void> {
    if (this.publishedHere.size === 0 || changes.length === 0) return this.publish(changes);
    const fresh = changes.filter((change) => !this.publishedHere.delete(change.seq));
    // The feed reads in seq order: anything left at or below its last row will never come (a write
    // made before the watcher started); forget it so the set stays small.
    const last = changes[changes.length - 1]!.seq;
    for (const seq of this.publishedHere) if (seq <= last) this.publishedHere.delete(seq);
    await this.publish(fresh);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener, in order, and waits for each. A failing listener does not stop the others. */
  async publish(changes: readonly ChangeNotice[]): Promise<void> {
    if (changes.length === 0) return;
    for (const listener of this.listeners) {
      try {
        await listener(changes);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}

/** What a domain write needs to record changes: the database, and this process's bus if it has caches. */
export interface ChangeWriterDeps {
  database: Database;
  /** Absent in the CLI: running servers learn of its writes from the change feed. */
  changes?: ChangeBus | undefined;
}

/**
 * What a write records inside its transaction: change-feed rows (what other processes' caches must
 * drop) and audit entries (what happened, who did it). Both commit with the write or not at all.
 */
export interface ChangeLog {
  /** Appends a change-feed row (and, for writeWithChanges, tells this process's caches after commit). */
  change(kind: ChangeKind, subject: string): Promise<void>;
  /** Appends an audit entry. */
  audit(context: ActionContext, entry: AuditEntryInput): Promise<void>;
}

/**
 * A change log over a transaction the caller opened itself (the signing keys take their own lock):
 * nothing is published to a ChangeBus; processes learn of these changes from the feed.
 */
export function changeLogIn(trx: Kysely<Schema>, now: number, onChange?: (notice: ChangeNotice) => void): ChangeLog {
  return {
    async change(kind, subject) {
      const seq = await recordChange(trx, kind, subject, now);
      onChange?.({ kind, subject, seq });
    },
    audit: (context, entry) => appendAudit(trx, context, entry),
  };
}

/**
 * Runs `work` in one transaction, with `log` to record change-feed rows and audit entries in it. Once
 * the transaction has committed, this process's own caches have applied the changes before this
 * returns: a write made through this server is in effect for the very next request it answers. Other
 * processes learn of it from the feed (LISTEN/NOTIFY on PostgreSQL, else the poll).
 */
export async function writeWithChanges<T>(deps: ChangeWriterDeps, now: number, work: (trx: Kysely<Schema>, log: ChangeLog) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const recorded: ChangeNotice[] = [];
    try {
      const result = await deps.database.db.transaction().execute((trx) => work(trx, changeLogIn(trx, now, (notice) => recorded.push(notice))));
      await deps.changes?.publishCommitted(recorded);
      return result;
    } catch (error) {
      // PostgreSQL chose this transaction as a deadlock victim (say, against the usage flush, which
      // updates the same integration): nothing was written, so it runs again.
      if (!isTransientConflict(error) || attempt === 3) throw error;
    }
  }
}

/** The highest sequence number written so far (0 when empty). */
export async function latestChangeSeq(database: Database): Promise<number> {
  const row = await database.db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Changes after `seq`, oldest first. */
export async function readChangesAfter(database: Database, seq: number, limit = 1000): Promise<Change[]> {
  const rows = await database.db.selectFrom('changes').select(['seq', 'kind', 'subject']).where('seq', '>', seq).orderBy('seq').limit(limit).execute();
  return rows.map((row) => ({ seq: Number(row.seq), kind: row.kind as ChangeKind, subject: row.subject }));
}

/** Deletes feed rows older than `olderThan` (ms epoch); readers only ever need the last few seconds. */
export async function pruneChanges(database: Database, olderThan: number): Promise<void> {
  await database.db.deleteFrom('changes').where('at', '<', olderThan).execute();
}

/** Options of a change watcher. */
export interface ChangeWatcherOptions {
  database: Database;
  /** PostgreSQL only: connection string for a dedicated LISTEN connection. */
  listenUrl?: string | undefined;
  intervalMilliseconds: number;
  onChanges: (changes: Change[]) => void | Promise<void>;
  onError: (error: unknown) => void;
}

/** A running poller; stop() waits for the poll in progress. */
export interface ChangeWatcher {
  /** Polls once now (on start, and when PostgreSQL notifies). */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts polling the change feed from its current end. */
export async function watchChanges(options: ChangeWatcherOptions): Promise<ChangeWatcher> {
  let cursor = await latestChangeSeq(options.database);
  let running: Promise<void> | null = null;
  let stopped = false;

  const poll = async () => {
    for (;;) {
      const changes = await readChangesAfter(options.database, cursor);
      if (changes.length === 0) return;
      cursor = changes[changes.length - 1]!.seq;
      await options.onChanges(changes);
    }
  };
  const pollNow = () => {
    running ??= poll()
      .catch(options.onError)
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void pollNow();
  }, options.intervalMilliseconds);
  timer.unref();

  const listener = options.listenUrl ? listenForChanges(options.listenUrl, () => void pollNow(), options.onError, () => stopped) : null;

  return {
    pollNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener?.close();
      await running;
    },
  };
}

/**
 * Holds a dedicated PostgreSQL connection in LISTEN on the change channel and calls `onNotify` for
 * every notification. Reconnects after a lost connection (with a poll on reconnect, since
 * notifications sent meanwhile were missed); the periodic poll covers the gap.
 */
function listenForChanges(url: string, onNotify: () => void, onError: (error: unknown) => void, isStopped: () => boolean): { close(): Promise<void> } {
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (isStopped()) return;
    // Loaded here, on PostgreSQL only (see openPostgres in database.ts).
    const { Client } = (await import('pg')).default;
    if (isStopped()) return;
    const next = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    next.on('notification', onNotify);
    next.on('error', (error) => {
      onError(error);
      scheduleReconnect();
    });
    try {
      await next.connect();
      await next.query(`listen ${CHANGE_CHANNEL}`);
      client = next;
      onNotify();
    } catch (error) {
      onError(error);
      await next.end().catch(() => {});
      scheduleReconnect();
    }
  };
  const scheduleReconnect = () => {
    const old = client;
    client = null;
    void old?.end().catch(() => {});
    if (isStopped() || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 1000);
    retry.unref();
  };
  void connect();
  return {
    async close() {
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
