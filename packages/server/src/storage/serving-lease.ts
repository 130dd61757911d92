import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from './database.ts';
import type { Clock } from '../support/clock.ts';

/** How long a lease lasts without renewal, and how often it is renewed. */
const LEASE_MILLISECONDS = 3_000;
const RENEW_MILLISECONDS = 1_000;
const NAME = 'serve';

/** Another server holds the lease: this one must not serve from the same SQLite file. */
export class SqliteAlreadyServed extends Error {
  constructor(holder: string) {
    super(
      `another Latchkey server (${holder}) is serving this SQLite database; stop it first. ` +
        'More processes on one machine: latchkey serve --workers N. More machines: PostgreSQL (docs/deploy.md).',
    );
  }
}

export interface ServingLeaseOptions {
  database: Database;
  clock: Clock;
  /** Called once if the lease was lost (the process stalled past the lease and another took it). */
  onLost: () => void;
  /** Test seam: wait between checks of a busy lease. */
  pollMilliseconds?: number;
}

/**
 * The one serving process (or cluster primary) of a SQLite database. Design §8 makes one process on
 * SQLite the embedded default and PostgreSQL the way to several instances; the lease makes that a
 * fact the server can rely on (the token cache answers before it stores, token-cache.ts) instead of
 * an assumption. It is a row renewed every second and valid for three, so a server that crashed
 * leaves it free three seconds later, and a second `latchkey serve` on the same file stops with a
 * message instead of quietly handing out different tokens for the same request. Like Prometheus'
 * lock on its data directory, but in the database itself, so it needs no lock file and works the
 * same in a container whose PID is always 1. The CLI takes no lease: it may write while a server runs.
 */
export class ServingLease {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  private renewedAt = 0;

  private constructor(
    private readonly options: ServingLeaseOptions,
    private readonly holder: string,
  ) {}

  /**
   * Takes the lease. A lease held by another server is waited for while it may be one that crashed
   * (up to one lease period); if it is renewed meanwhile, this fails with SqliteAlreadyServed.
   */
  static async acquire(options: ServingLeaseOptions): Promise<ServingLease> {
    const holder = `pid ${process.pid} on ${hostname()}, ${randomUUID().slice(0, 8)}`;
    const lease = new ServingLease(options, holder);
    const deadline = options.clock.now() + LEASE_MILLISECONDS + RENEW_MILLISECONDS;
    for (;;) {
      const current = await lease.tryTake();
      if (current === undefined) {
        lease.renewedAt = options.clock.now();
        break;
      }
      if (options.clock.now() > deadline) throw new SqliteAlreadyServed(current);
      await new Promise((resolve) => setTimeout(resolve, options.pollMilliseconds ?? 250));
    }
    lease.timer = setInterval(() => void lease.renew(), RENEW_MILLISECONDS);
    lease.timer.unref();
    return lease;
  }

  /** Takes the lease if it is free, expired or ours; otherwise returns who holds it. */
  private async tryTake(): Promise<string | undefined> {
    const { database, clock } = this.options;
    const now = clock.now();
    const taken = await database.db
      .insertInto('serving_lease')
      .values({ name: NAME, holder: this.holder, expires_at: now + LEASE_MILLISECONDS })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder: this.holder, expires_at: now + LEASE_MILLISECONDS })
          .where((eb) => eb.or([eb('serving_lease.expires_at', '<', now), eb('serving_lease.holder', '=', this.holder)])),
      )
      .returning('holder')
      .executeTakeFirst();
    if (taken) return undefined;
    const current = await database.db.selectFrom('serving_lease').select('holder').where('name', '=', NAME).executeTakeFirst();
    return current?.holder ?? 'unknown';
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    const { database, clock } = this.options;
    const now = clock.now();
    try {
      const result = await database.db.updateTable('serving_lease').set({ expires_at: now + LEASE_MILLISECONDS }).where('name', '=', NAME).where('holder', '=', this.holder).executeTakeFirst();
      if (result.numUpdatedRows === 0n) return this.lose();
      this.renewedAt = now;
    } catch {
      // A failed renewal is retried in a second, as long as the lease still holds.
      if (now - this.renewedAt > LEASE_MILLISECONDS) this.lose();
    }
  }

  private lose(): void {
    if (this.lost) return;
    this.lost = true;
    this.options.onLost();
  }

  /** Gives the lease up, so the next server can start at once. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.lost) return;
    await this.options.database.db.deleteFrom('serving_lease').where('name', '=', NAME).where('holder', '=', this.holder).execute();
  }
}
