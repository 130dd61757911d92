import { sql } from 'kysely';
import type { Database } from '../database.ts';
import type { SigningKeysTable } from '../schema.ts';
import { changeLogIn, type ChangeLog } from '../change-log.ts';

// The signing key rows (their private halves sealed by keys/signing-keys.ts before they get here).

/** Every signing key row. */
export function loadSigningKeyRows(database: Database): Promise<SigningKeysTable[]> {
  return database.db.selectFrom('signing_keys').selectAll().execute();
}

/**
 * Runs `decide` under the signing-key lock and inserts the row it returns (if any), recording the
 * change and audit entry it asks for through `log`. Only one process at a time may decide that a key
 * is missing or rotate one: without the lock, two instances starting together on PostgreSQL would
 * both create a first key. SQLite serialises writers already.
 */
export async function insertSigningKeyLocked(
  database: Database,
  now: number,
  decide: (existing: SigningKeysTable[]) => SigningKeysTable | null,
  record: (log: ChangeLog, row: SigningKeysTable) => Promise<void>,
): Promise<SigningKeysTable | null> {
  return database.db.transaction().execute(async (trx) => {
    // PostgreSQL only: a transaction-scoped advisory lock (SQLite has one writer at a time).
    if (database.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('latchkey:signing-keys'))`.execute(trx);
    const row = decide(await trx.selectFrom('signing_keys').selectAll().execute());
    if (row === null) return null;
    await trx.insertInto('signing_keys').values(row).execute();
    await record(changeLogIn(trx, now), row);
    return row;
  });
}
