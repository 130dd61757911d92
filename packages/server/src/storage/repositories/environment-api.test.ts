import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../../../../test/support/databases.ts';
import { openDatabase, type Database } from '../database.ts';
import { createEnvironmentApiRepositories, upsertBrowserSettings } from './environment-api.ts';
import type { EnvironmentApiStorage } from '../../environment-api/storage.ts';

// The one Kysely implementation, proven on both dialects (conventions: repository suites loop over DIALECTS).
describe.each(DIALECTS)('Environment API repositories (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;
  let storage: EnvironmentApiStorage;

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url);
    storage = createEnvironmentApiRepositories(database);
    const at = Date.now();
    await database.db.insertInto('environments').values([{ id: 'demo', name: 'demo', created_at: at, updated_at: at }, { id: 'other', name: 'other', created_at: at, updated_at: at }]).execute();
    await database.db
      .insertInto('integrations')
      .values({ id: 'int_1', environment_id: 'demo', client_id: 'lkc_owner', name: 'Owner', description: '', disabled: 0, grant_version: 1, secret_generation: 1, tokens_not_before: 0, browser_tokens: 0, browser_use_count: 0, created_at: at, updated_at: at, last_used_at: null })
      .execute();
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('stores documents per environment and pages them oldest first', async () => {
    for (let i = 0; i < 3; i++) {
      await storage.templates.insert({ id: `tpl_${i}`, environmentId: 'demo', name: `T${i}`, contentJson: JSON.stringify({ i, text: 'é' }), createdBy: 'lkc_owner', at: 1000 + i });
    }
    await storage.templates.insert({ id: 'tpl_x', environmentId: 'other', name: 'X', contentJson: '{}', createdBy: 'lkc_else', at: 1 });
    const first = await storage.templates.list('demo', { limit: 2 });
    expect(first.items.map((t) => t.id)).toEqual(['tpl_0', 'tpl_1']);
    expect(first.nextCursor).toBe('tpl_1');
    const second = await storage.templates.list('demo', { limit: 2, after: first.nextCursor! });
    expect(second).toEqual({ items: [expect.objectContaining({ id: 'tpl_2', size: Buffer.byteLength('{"i":2,"text":"é"}'), templateId: null, ownerName: null })], nextCursor: null });
    expect(await storage.templates.get('demo', 'tpl_x')).toBeNull();
    expect((await storage.templates.get('demo', 'tpl_1'))?.content).toEqual({ i: 1, text: 'é' });
  });

  it('updates and deletes only within the environment', async () => {
    expect(await storage.templates.update('other', 'tpl_0', { name: 'N', contentJson: '{}', updatedBy: 'lkc_else', at: 5 })).toBeNull();
    const updated = await storage.templates.update('demo', 'tpl_0', { name: 'N', contentJson: '{"a":1}', updatedBy: 'lkc_else', at: 5000 });
    expect(updated).toMatchObject({ name: 'N', content: { a: 1 }, size: 7, createdBy: 'lkc_owner', updatedBy: 'lkc_else', createdAt: 1000, updatedAt: 5000 });
    expect(await storage.templates.delete('other', 'tpl_0')).toBe(false);
    expect(await storage.templates.delete('demo', 'tpl_0')).toBe(true);
    expect(await storage.templates.delete('demo', 'tpl_0')).toBe(false);
  });

  it("shows a project's owner by the integration's current name, and filters by owner", async () => {
    await storage.projects.insert({ id: 'prj_1', environmentId: 'demo', name: 'P1', contentJson: '{}', createdBy: 'lkc_owner', templateId: 'tpl_1', at: 1 });
    await storage.projects.insert({ id: 'prj_2', environmentId: 'demo', name: 'P2', contentJson: '{}', createdBy: 'lkc_gone', at: 2 });
    await database.db.updateTable('integrations').set({ name: 'Renamed owner' }).where('client_id', '=', 'lkc_owner').execute();
    const all = await storage.projects.list('demo', { limit: 10 });
    expect(all.items.map((p) => [p.id, p.templateId, p.createdBy, p.ownerName])).toEqual([
      ['prj_1', 'tpl_1', 'lkc_owner', 'Renamed owner'],
      ['prj_2', null, 'lkc_gone', null],
    ]);
    expect((await storage.projects.list('demo', { limit: 10, createdBy: 'lkc_gone' })).items.map((p) => p.id)).toEqual(['prj_2']);
    expect((await storage.projects.get('demo', 'prj_1'))?.ownerName).toBe('Renamed owner');
  });

  it('keeps asset metadata per kind and returns the deleted record', async () => {
    const asset = { id: 'med_1', environmentId: 'demo', kind: 'media' as const, name: 'a.png', contentType: 'image/png', size: 70, sha256: 'ab'.repeat(32), blobKey: 'demo/media/med_1', createdBy: 'lkc_owner', createdAt: 7 };
    await storage.assets.insert(asset);
    expect(await storage.assets.get('demo', 'media', 'med_1')).toEqual(asset);
    expect(await storage.assets.get('demo', 'fonts', 'med_1')).toBeNull();
    expect((await storage.assets.list('demo', 'media', { limit: 5 })).items).toEqual([asset]);
    expect(await storage.assets.delete('demo', 'fonts', 'med_1')).toBeNull();
    expect(await storage.assets.delete('demo', 'media', 'med_1')).toEqual(asset);
    expect(await storage.assets.get('demo', 'media', 'med_1')).toBeNull();
  });

  it('reads browser settings with defaults, and null for an unknown environment', async () => {
    expect(await storage.environments.findBrowserSettings('demo')).toEqual({ allowedOrigins: [], allowWriteTokensInBrowser: false });
    expect(await storage.environments.findBrowserSettings('nope')).toBeNull();
    await upsertBrowserSettings(database.db, 'other', { allowed_origins: '["https://a.example"]', allow_write_tokens_in_browser: 1, updated_at: 1 });
    expect(await storage.environments.findBrowserSettings('other')).toEqual({ allowedOrigins: ['https://a.example'], allowWriteTokensInBrowser: true });
  });

  it('goes with its environment (cascade)', async () => {
    await database.db.deleteFrom('environments').where('id', '=', 'other').execute();
    expect(await database.db.selectFrom('templates').select('id').where('environment_id', '=', 'other').execute()).toEqual([]);
    expect(await database.db.selectFrom('environment_browser_settings').select('environment_id').where('environment_id', '=', 'other').execute()).toEqual([]);
  });
});
