import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../../../../test/support/databases.ts';
import { openDatabase, type Database } from '../database.ts';
import { BROWSER_USE_ORIGIN_MAX, findIntegrationByClientId, insertIntegration, readIntegrationBrowserTokens, recordBrowserUse, writeIntegrationBrowserTokens } from './integrations.ts';
import { readBrowserTokenSettings, writeBrowserTokenSettings } from './environments.ts';
import { upsertBrowserSettings } from './environment-api.ts';
import { readClientRows } from './client-records.ts';

// The storage of browser tokens (migration 0011): the integration's flag and browser use, the
// environment's lifetime and client_credentials-from-a-browser settings, over both dialects.

describe.each(DIALECTS)('browser-token storage (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;
  const at = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url);
    await database.db.insertInto('environments').values([{ id: 'demo', name: 'demo', created_at: at, updated_at: at }, { id: 'other', name: 'other', created_at: at, updated_at: at }]).execute();
    const base = { environment_id: 'demo', description: '', disabled: 0, grant_version: 1, secret_generation: 1, tokens_not_before: 0, created_at: at, updated_at: at };
    await insertIntegration(database.db, { ...base, id: 'int_a', client_id: 'lkc_a', name: 'a' });
    await insertIntegration(database.db, { ...base, id: 'int_b', client_id: 'lkc_b', name: 'b', browser_tokens: 1 });
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('reads and writes an integration\'s browserTokens; the token endpoint\'s client rows carry it', async () => {
    expect(await readIntegrationBrowserTokens(database.db, 'lkc_a')).toBe(false);
    expect(await readIntegrationBrowserTokens(database.db, 'lkc_b')).toBe(true);
    expect(await readIntegrationBrowserTokens(database.db, 'lkc_missing')).toBeUndefined();
    await writeIntegrationBrowserTokens(database.db, 'int_a', true, at + 5);
    expect(await readIntegrationBrowserTokens(database.db, 'lkc_a')).toBe(true);
    expect((await readClientRows(database.db, 'lkc_a'))?.integration.browser_tokens).toBe(1);
    expect((await findIntegrationByClientId(database.db, 'lkc_a'))?.updated_at).toBe(at + 5);
    await writeIntegrationBrowserTokens(database.db, 'int_a', false, at + 6);
    expect(await readIntegrationBrowserTokens(database.db, 'lkc_a')).toBe(false);
    // The other integration is untouched.
    expect(await readIntegrationBrowserTokens(database.db, 'lkc_b')).toBe(true);
  });

  it('records browser use: first time kept, last origin/address/time follow the latest request, the count adds up under concurrency', async () => {
    const row = async (clientId: string) => {
      const found = await findIntegrationByClientId(database.db, clientId);
      return {
        origin: found?.browser_use_origin,
        ip: found?.browser_use_ip,
        first: found?.browser_use_first_at,
        last: found?.browser_use_last_at,
        count: found?.browser_use_count,
      };
    };
    expect(await row('lkc_b')).toEqual({ origin: null, ip: null, first: null, last: null, count: 0 });
    await recordBrowserUse(database.db, { integrationId: 'int_b', origin: 'https://one.example', ip: '203.0.113.1', at: at + 1000 });
    await recordBrowserUse(database.db, { integrationId: 'int_b', origin: 'https://two.example', ip: '2001:db8::2', at: at + 2000 });
    expect(await row('lkc_b')).toEqual({ origin: 'https://two.example', ip: '2001:db8::2', first: at + 1000, last: at + 2000, count: 2 });
    // A late write of an older request (a batch flushed late) counts, but moves neither end backwards.
    await recordBrowserUse(database.db, { integrationId: 'int_b', origin: 'https://late.example', ip: '203.0.113.9', at: at + 1500, count: 3 });
    expect(await row('lkc_b')).toEqual({ origin: 'https://two.example', ip: '2001:db8::2', first: at + 1000, last: at + 2000, count: 5 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => recordBrowserUse(database.db, { integrationId: 'int_b', origin: 'https://many.example', ip: '203.0.113.3', at: at + 3000 + i })));
    expect((await row('lkc_b')).count).toBe(25);
    expect((await row('lkc_b')).last).toBe(at + 3019);
    // Only that integration's row changed.
    expect(await row('lkc_a')).toEqual({ origin: null, ip: null, first: null, last: null, count: 0 });
    // An unknown integration id writes nothing and does not fail.
    await recordBrowserUse(database.db, { integrationId: 'int_gone', origin: 'https://x.example', ip: '203.0.113.4', at: at + 4000 });
  });

  it('keeps a hostile Origin bounded and printable', async () => {
    const hostile = `https://evil.example/\u001b[2J\r\nSet-Cookie: x${'a'.repeat(10_000)}`;
    await recordBrowserUse(database.db, { integrationId: 'int_a', origin: hostile, ip: `198.51.100.7\u0000${'9'.repeat(500)}`, at: at + 5000 });
    const found = await findIntegrationByClientId(database.db, 'lkc_a');
    expect(found?.browser_use_origin).toHaveLength(BROWSER_USE_ORIGIN_MAX);
    expect(found?.browser_use_origin?.startsWith('https://evil.example/?[2J??Set-Cookie: xaaa')).toBe(true);
    // eslint-disable-next-line no-control-regex -- asserting no control character survived
    expect(/[\u0000-\u001f\u007f]/.test(`${found?.browser_use_origin}${found?.browser_use_ip}`)).toBe(false);
    expect(found?.browser_use_ip?.length).toBeLessThanOrEqual(64);
  });

  it('reads an environment\'s browser-token settings with defaults, writes each field alone, and keeps the other browser settings', async () => {
    expect(await readBrowserTokenSettings(database.db, 'demo')).toEqual({ browserTokenLifetimeSeconds: 900, allowClientCredentialsFromBrowser: false });
    expect(await readBrowserTokenSettings(database.db, 'missing')).toBeUndefined();
    await upsertBrowserSettings(database.db, 'demo', { allowed_origins: '["https://app.example"]', allow_write_tokens_in_browser: 1, updated_at: at });
    await writeBrowserTokenSettings(database.db, 'demo', { browserTokenLifetimeSeconds: 120 }, at + 1);
    expect(await readBrowserTokenSettings(database.db, 'demo')).toEqual({ browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: false });
    await writeBrowserTokenSettings(database.db, 'demo', { allowClientCredentialsFromBrowser: true }, at + 2);
    expect(await readBrowserTokenSettings(database.db, 'demo')).toEqual({ browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: true });
    // The Environment API's settings in the same row are untouched, and writing those keeps these.
    const row = await database.db.selectFrom('environment_browser_settings').selectAll().where('environment_id', '=', 'demo').executeTakeFirstOrThrow();
    expect(row).toEqual({ environment_id: 'demo', allowed_origins: '["https://app.example"]', allow_write_tokens_in_browser: 1, browser_token_ttl_seconds: 120, allow_client_credentials_from_browser: 1, updated_at: at + 2 });
    await upsertBrowserSettings(database.db, 'demo', { allowed_origins: '[]', allow_write_tokens_in_browser: 0, updated_at: at + 3 });
    expect(await readBrowserTokenSettings(database.db, 'demo')).toEqual({ browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: true });
    // A first write for an environment without a settings row creates it with the other defaults.
    await writeBrowserTokenSettings(database.db, 'other', { allowClientCredentialsFromBrowser: true }, at + 4);
    expect(await readBrowserTokenSettings(database.db, 'other')).toEqual({ browserTokenLifetimeSeconds: 900, allowClientCredentialsFromBrowser: true });
    expect(await database.db.selectFrom('environment_browser_settings').select(['allowed_origins', 'allow_write_tokens_in_browser']).where('environment_id', '=', 'other').executeTakeFirstOrThrow()).toEqual({
      allowed_origins: '[]',
      allow_write_tokens_in_browser: 0,
    });
  });
});
