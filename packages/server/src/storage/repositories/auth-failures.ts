import { sql, type Kysely } from 'kysely';
import type { Schema } from '../schema.ts';

// Failed client authentications per key and aligned window (table auth_failures), shared by every
// instance on one database (oauth/shared-failure-store.ts decides what a key and a limit are).

/** Adds one failure to each key in the window starting at `windowStart` (ms). */
export async function addAuthFailures(db: Kysely<Schema>, keys: readonly string[], windowStart: number): Promise<void> {
  for (const key of keys) {
    await db
      .insertInto('auth_failures')
      .values({ key, window_start: windowStart, count: 1 })
      .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql`auth_failures.count + 1` }))
      .execute();
  }
}

/** The counts of one window. */
export function readAuthFailures(db: Kysely<Schema>, windowStart: number): Promise<{ key: string; count: number }[]> {
  return db.selectFrom('auth_failures').select(['key', 'count']).where('window_start', '=', windowStart).execute();
}

/** Forgets windows before `windowStart`. */
export async function deleteAuthFailuresBefore(db: Kysely<Schema>, windowStart: number): Promise<void> {
  await db.deleteFrom('auth_failures').where('window_start', '<', windowStart).execute();
}
