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
    const deps = { database, clock, apis, secretHashKey: randomBytes(32), tokenTtlSeconds: 86400 };
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

  const issuedEntries = async () => Number((await database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'token.issue').executeTakeFirstOrThrow()).n);

  it('writes a burst of minted tokens early instead of dropping audit entries past the buffer', async () => {
    const before = await issuedEntries();
    const dropped: number[] = [];
    const recorder = new UsageRecorder(database, clock, (error) => {
      throw error;
    }, { onAuditDropped: (count) => dropped.push(count) });
    recorder.start(3600); // the timer never fires in this test: only early flushes can help
    // 25,000 mints in about a second, more than twice the 10,000-entry buffer, while the timer
    // sleeps: without early flushes 15,000 would be dropped.
    for (let i = 0; i < 25_000; i++) {
      recorder.record(event('minted'));
      if (i % 250 === 249) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await recorder.stop();
    expect(recorder.auditEntriesDropped).toBe(0);
    expect(dropped).toEqual([]);
    expect((await issuedEntries()) - before).toBe(25_000);
  });

  it('writes only the audit entries early; the counts keep the timer\'s pace', async () => {
    const day = new Date(clock.now()).toISOString().slice(0, 10);
    const minted = async () => (await readUsage(database, integrationId, day))[0]?.tokensMinted ?? 0;
    const [entriesBefore, mintedBefore] = [await issuedEntries(), await minted()];
    const recorder = new UsageRecorder(database, clock, (error) => {
      throw error;
    });
    recorder.start(3600);
    for (let i = 0; i < 2_000; i++) recorder.record(event('minted'));
    // The 2,000th entry started an early flush.
    await recorder.flush(true);
    expect((await issuedEntries()) - entriesBefore).toBe(2_000);
    expect(await minted()).toBe(mintedBefore);
    await recorder.stop();
    expect((await minted()) - mintedBefore).toBe(2_000);
  });

  it('counts and reports the entries it had to drop when the database cannot keep up', async () => {
    const before = await issuedEntries();
    const dropped: number[] = [];
    const recorder = new UsageRecorder(database, clock, (error) => {
      throw error;
    }, { maxAuditBuffer: 50, onAuditDropped: (count) => dropped.push(count) });
    // Not started, so nothing flushes early: 80 entries into a buffer of 50.
    for (let i = 0; i < 80; i++) recorder.record(event('minted'));
    await recorder.flush();
    expect(recorder.auditEntriesDropped).toBe(30);
    expect(dropped).toEqual([30]);
    expect((await issuedEntries()) - before).toBe(50);
  });

  it('writes what was recorded during a flush when flushed again at once', async () => {
    const before = await issuedEntries();
    const recorder = new UsageRecorder(database, clock, (error) => {
      throw error;
    });
    recorder.record(event('minted'));
    const first = recorder.flush();
    recorder.record(event('minted'));
    // Called while the first is under way: it must not settle for the first flush alone.
    await recorder.flush();
    await first;
    expect((await issuedEntries()) - before).toBe(2);
  });
});
