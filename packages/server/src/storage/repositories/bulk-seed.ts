import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { Schema } from '../schema.ts';

// Bulk inserts for `latchkey dev seed` (cli/commands/dev/seed.ts): the row shapes createIntegration
// writes, with multi-row INSERTs instead of a transaction per integration.

/**
 * Rows per INSERT statement. SQLite allows 32,766 bound parameters and PostgreSQL 65,535; the widest
 * row here (integrations) has 18 columns, so 1,000 rows stay well under both.
 */
const ROWS_PER_INSERT = 1000;

async function insertInBatches<T extends keyof Schema>(trx: Kysely<Schema>, table: T, rows: readonly object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    // The rows are built by the caller with exactly the columns of `table`; Kysely's per-table value
    // type cannot be named generically here.
    await trx.insertInto(table).values(rows.slice(i, i + ROWS_PER_INSERT) as never).execute();
  }
}

/**
 * Inserts environments in one transaction, unless one of their ids exists: then nothing is written
 * and that id is returned.
 */
export async function insertNewEnvironments(database: Database, rows: readonly Schema['environments'][]): Promise<string | null> {
  return database.db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const existing = await trx.selectFrom('environments').select('id').where('id', 'in', rows.slice(i, i + ROWS_PER_INSERT).map((row) => row.id)).executeTakeFirst();
      if (existing) return existing.id;
    }
    await insertInBatches(trx, 'environments', rows);
    return null;
  });
}

/** Inserts integrations with their secrets and grants, in one transaction. */
export async function insertIntegrationsInBulk(
  database: Database,
  rows: { integrations: readonly Schema['integrations'][]; secrets: readonly Schema['integration_secrets'][]; grants: readonly Schema['integration_grants'][] },
): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    await insertInBatches(trx, 'integrations', rows.integrations);
    await insertInBatches(trx, 'integration_secrets', rows.secrets);
    await insertInBatches(trx, 'integration_grants', rows.grants);
  });
}
