import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../../../test/support/databases.ts';
import { openDatabase, type Database } from './database.ts';
import { migrateTo, migrateToLatest } from './migrations.ts';

describe.each(DIALECTS)('migration 0009_child_rows_cascade (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url, { migrate: false });
    await migrateTo(database.db, database.dialect, '0008_revocation');
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('keeps the usage of live integrations, drops that of deleted ones, and makes usage go with its integration', async () => {
    const at = Date.now();
    await database.db.insertInto('environments').values({ id: 'demo', name: 'demo', created_at: at, updated_at: at }).execute();
    await database.db
      .insertInto('integrations')
      .values({ id: 'int_live', environment_id: 'demo', client_id: 'lkc_live', name: 'live', description: '', disabled: 0, grant_version: 1, secret_generation: 1, tokens_not_before: 0, created_at: at, updated_at: at })
      .execute();
    // Before 0009 usage rows outlived their integration: int_gone was deleted by hand earlier.
    await database.db
      .insertInto('usage_daily')
      .values([
        { integration_id: 'int_live', day: '2026-05-01', tokens_minted: 3, tokens_cached: 4, failures: 5 },
        { integration_id: 'int_gone', day: '2026-05-01', tokens_minted: 1, tokens_cached: 1, failures: 1 },
      ])
      .execute();

    await migrateToLatest(database.db, database.dialect);

    expect(await database.db.selectFrom('usage_daily').selectAll().execute()).toEqual([{ integration_id: 'int_live', day: '2026-05-01', tokens_minted: 3, tokens_cached: 4, failures: 5 }]);
    await database.db.deleteFrom('integrations').where('id', '=', 'int_live').execute();
    expect(await database.db.selectFrom('usage_daily').selectAll().execute()).toEqual([]);
    // The usage flush's upsert still finds its conflict target: the primary key survived the rebuild.
    await database.db
      .insertInto('integrations')
      .values({ id: 'int_new', environment_id: 'demo', client_id: 'lkc_new', name: 'new', description: '', disabled: 0, grant_version: 1, secret_generation: 1, tokens_not_before: 0, created_at: at, updated_at: at })
      .execute();
    for (let i = 0; i < 2; i++) {
      await database.db
        .insertInto('usage_daily')
        .values({ integration_id: 'int_new', day: '2026-05-02', tokens_minted: 1, tokens_cached: 0, failures: 0 })
        .onConflict((oc) => oc.columns(['integration_id', 'day']).doUpdateSet({ tokens_minted: sql`usage_daily.tokens_minted + excluded.tokens_minted` }))
        .execute();
    }
    expect(await database.db.selectFrom('usage_daily').select(['integration_id', 'tokens_minted']).execute()).toEqual([{ integration_id: 'int_new', tokens_minted: 2 }]);
  });
});
