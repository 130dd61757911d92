import { sql, type Kysely } from 'kysely';
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
    // Rows as this migration's schema knew them: later migrations' columns take their defaults.
    const db = database.db as Kysely<any>;
    const at = Date.now();
    await database.db.insertInto('environments').values({ id: 'demo', name: 'demo', created_at: at, updated_at: at }).execute();
    await db
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
    await db
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

describe.each(DIALECTS)('migration 0011_browser_tokens (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url, { migrate: false });
    await migrateTo(database.db, database.dialect, '0010_temporary_admin_password');
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('gives existing integrations and browser settings the defaults: no browser tokens, no browser use, 900 s, client_credentials from browsers refused', async () => {
    // Rows as 0010 knew them.
    const db = database.db as Kysely<any>;
    const at = Date.now();
    await db.insertInto('environments').values([{ id: 'demo', name: 'demo', created_at: at, updated_at: at }]).execute();
    await db
      .insertInto('integrations')
      .values({ id: 'int_old', environment_id: 'demo', client_id: 'lkc_old', name: 'old', description: '', disabled: 0, grant_version: 3, secret_generation: 1, tokens_not_before: 0, created_at: at, updated_at: at })
      .execute();
    await db.insertInto('environment_browser_settings').values({ environment_id: 'demo', allowed_origins: '["https://app.example"]', allow_write_tokens_in_browser: 1, updated_at: at }).execute();

    await migrateToLatest(database.db, database.dialect);

    const integration = await database.db
      .selectFrom('integrations')
      .select(['grant_version', 'browser_tokens', 'browser_use_origin', 'browser_use_ip', 'browser_use_first_at', 'browser_use_last_at', 'browser_use_count'])
      .where('id', '=', 'int_old')
      .executeTakeFirstOrThrow();
    expect(integration).toEqual({ grant_version: 3, browser_tokens: 0, browser_use_origin: null, browser_use_ip: null, browser_use_first_at: null, browser_use_last_at: null, browser_use_count: 0 });
    const settings = await database.db.selectFrom('environment_browser_settings').selectAll().where('environment_id', '=', 'demo').executeTakeFirstOrThrow();
    expect(settings).toEqual({ environment_id: 'demo', allowed_origins: '["https://app.example"]', allow_write_tokens_in_browser: 1, browser_token_ttl_seconds: 900, allow_client_credentials_from_browser: 0, updated_at: at });
    // Millisecond times fit the new time columns in both dialects (bigint in PostgreSQL).
    await database.db.updateTable('integrations').set({ browser_use_first_at: 4_102_444_800_000, browser_use_last_at: 4_102_444_800_000 }).where('id', '=', 'int_old').execute();
    expect(await database.db.selectFrom('integrations').select(['browser_use_first_at', 'browser_use_last_at']).executeTakeFirstOrThrow()).toEqual({ browser_use_first_at: 4_102_444_800_000, browser_use_last_at: 4_102_444_800_000 });
  });
});
