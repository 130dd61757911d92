import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../../../test/support/databases.ts';
import { openDatabase, type Database } from '../storage/database.ts';
import { createManualClock } from '../support/clock.ts';
import { ApiCatalogue } from './apis.ts';
import { SYSTEM_CONTEXT } from './audit.ts';
import { createEnvironment } from './environments.ts';
import { createIntegration } from './integrations.ts';
import { readUsage, UsageRecorder, type TokenUsageEvent } from './usage-recorder.ts';

const apis = new ApiCatalogue({ environmentApiAudience: 'https://env.example/api', environmentApiAliases: [], platformApiAudience: 'https://platform.example/api' });

describe.each(DIALECTS)('UsageRecorder (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;
  const clock = createManualClock(Date.UTC(2026, 4, 1, 23, 59, 58));
  let integrationId = '';

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url, { migrate: true });
    const deps = { database, clock, apis, secretHashKey: randomBytes(32) };
    await createEnvironment(deps, { id: 'usage' }, SYSTEM_CONTEXT);
    integrationId = (await createIntegration(deps, { environmentId: 'usage', name: 'usage' }, SYSTEM_CONTEXT)).integration.id;
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  const event = (outcome: string): TokenUsageEvent => ({ integrationId, clientId: 'lkc_x', environmentId: 'usage', secretGeneration: 1, outcome, scopes: [], audience: 'https://env.example/api', ip: '127.0.0.1' });

  it('counts each day on its own day, across a midnight inside one flush interval', async () => {
    const recorder = new UsageRecorder(database, clock, (error) => {
      throw error;
    });
    recorder.record(event('cached'));
    recorder.record(event('minted'));
    clock.advance(4000); // 2026-05-02 00:00:02
    recorder.record(event('cached'));
    recorder.record(event('cached'));
    recorder.record(event('invalid_client'));
    await recorder.flush();
    expect(await readUsage(database, integrationId, '2026-05-01')).toEqual([
      { day: '2026-05-01', tokensMinted: 1, tokensCached: 1, failures: 0 },
      { day: '2026-05-02', tokensMinted: 0, tokensCached: 2, failures: 1 },
    ]);
    // When each integration and secret generation was last used: the time of its last success.
    const integration = await database.db.selectFrom('integrations').select('last_used_at').where('id', '=', integrationId).executeTakeFirstOrThrow();
    const secret = await database.db.selectFrom('integration_secrets').select('last_used_at').where('integration_id', '=', integrationId).where('generation', '=', 1).executeTakeFirstOrThrow();
    expect([integration.last_used_at, secret.last_used_at]).toEqual([clock.now(), clock.now()]);
    // A later flush adds to the same rows.
    recorder.record(event('cached'));
    await recorder.flush();
    expect((await readUsage(database, integrationId, '2026-05-02'))[0]).toMatchObject({ tokensCached: 3 });
  });

  it('keeps the counts of a failed flush for the next one', async () => {
    const errors: unknown[] = [];
    const recorder = new UsageRecorder(database, clock, (error) => errors.push(error));
    const before = (await readUsage(database, integrationId, '2026-05-02'))[0]!;
    recorder.record(event('minted'));
    // Fail the write: the usage table is renamed away for the duration of one flush.
    await database.db.schema.alterTable('usage_daily').renameTo('usage_daily_away').execute();
    await recorder.flush();
    await database.db.schema.alterTable('usage_daily_away').renameTo('usage_daily').execute();
    expect(errors).toHaveLength(1);
    recorder.record(event('minted'));
    await recorder.flush();
    expect((await readUsage(database, integrationId, '2026-05-02'))[0]).toMatchObject({ tokensMinted: before.tokensMinted + 2 });
  });
});
