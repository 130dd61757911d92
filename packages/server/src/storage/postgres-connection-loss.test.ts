import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/databases.ts';
import { openDatabase, type Database } from './database.ts';

// PostgreSQL ends every session when it shuts down (pg_ctl stop -m fast) or when an administrator
// terminates a backend. A pooled client that is checked out but has no query running at that moment
// (between two statements of a transaction, for one) reports the loss as an 'error' event; unheard,
// that event used to crash the whole server (seen once in the fault drill).
describe('PostgreSQL connection loss', () => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createTestDatabase('postgres');
    database = await openDatabase(testDatabase.url, { migrate: true });
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('fails the transaction whose session was terminated, and keeps the process and the pool working', async () => {
    const outcome = database.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      // Terminated from another pooled connection while this one sits idle inside its transaction.
      await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(database.db);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql`select 1`.execute(trx);
    });
    await expect(outcome).rejects.toThrow();
    const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(database.db);
    expect(rows).toEqual([{ ok: 1 }]);
  });
});
