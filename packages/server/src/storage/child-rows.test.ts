import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../../../test/support/databases.ts';
import { openDatabase, type Database } from './database.ts';
import { createEnvironmentApiRepositories } from './repositories/environment-api.ts';
import { ApiCatalogue } from '../platform/apis.ts';
import { SYSTEM_CONTEXT } from '../platform/audit.ts';
import { createAdmin } from '../platform/admins.ts';
import { createEnvironment, deleteEnvironment } from '../platform/environments.ts';
import { createIntegration, deleteIntegration, type Integration } from '../platform/integrations.ts';
import { UsageRecorder } from '../platform/usage-recorder.ts';
import { setBrowserSettings } from '../environment-api/browser-settings.ts';
import { createSession } from '../platform/sessions.ts';
import { systemClock } from '../support/clock.ts';

// Child rows are removed one way: by ON DELETE CASCADE (docs/decisions.md). These tests fill every
// table that hangs off an environment or an integration, delete through the domain functions, and
// then look for orphans in every foreign key the schema declares, read from the database itself,
// so a child table added later is covered without changing this file.

interface ForeignKey {
  child: string;
  column: string;
  parent: string;
  parentColumn: string;
}

async function foreignKeys(database: Database): Promise<ForeignKey[]> {
  if (database.dialect === 'postgres') {
    const { rows } = await sql<ForeignKey>`
      select kcu.table_name as child, kcu.column_name as column, ccu.table_name as parent, ccu.column_name as "parentColumn"
      from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
      join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
      where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = current_schema()`.execute(database.db);
    return rows;
  }
  const { rows: tables } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(database.db);
  const keys: ForeignKey[] = [];
  for (const { name } of tables) {
    const { rows } = await sql<{ table: string; from: string; to: string }>`select * from pragma_foreign_key_list(${name})`.execute(database.db);
    for (const row of rows) keys.push({ child: name, column: row.from, parent: row.table, parentColumn: row.to });
  }
  return keys;
}

/** Rows of every child table whose parent is gone, as "child.column: count". */
async function orphans(database: Database): Promise<string[]> {
  const found: string[] = [];
  for (const key of await foreignKeys(database)) {
    const { rows } = await sql<{ count: number | string }>`select count(*) as count from ${sql.table(key.child)} c where not exists (select 1 from ${sql.table(key.parent)} p where p.${sql.ref(key.parentColumn)} = c.${sql.ref(key.column)})`.execute(database.db);
    if (Number(rows[0]!.count) > 0) found.push(`${key.child}.${key.column}: ${rows[0]!.count}`);
  }
  return found;
}

async function countWhere(database: Database, table: string, column: string, values: readonly string[]): Promise<number> {
  const { rows } = await sql<{ count: number | string }>`select count(*) as count from ${sql.table(table)} where ${sql.ref(column)} in (${sql.join(values)})`.execute(database.db);
  return Number(rows[0]!.count);
}

describe.each(DIALECTS)('child rows go with their parent (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;
  const apis = new ApiCatalogue({ environmentApiAudience: 'https://env.example/api', environmentApiAliases: [], platformApiAudience: 'https://platform.example/api' });
  const deps = () => ({ database, clock: systemClock, apis, secretHashKey: randomBytes(32), tokenTtlSeconds: 3600 });

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    // As the server opens it: SQLite on its own thread, whose connection turns foreign keys on.
    database = await openDatabase(testDatabase.url, { sqliteOnThread: true });
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  /** An integration with a row in every table that hangs off it. */
  async function integrationWithChildren(environmentId: string, name: string): Promise<Integration> {
    const { integration } = await createIntegration(deps(), { environmentId, name, grants: { 'environment-api': ['templates:read'] } }, SYSTEM_CONTEXT);
    const now = Date.now();
    await database.db.insertInto('token_cache').values({ cache_key: `key-${integration.id}`, integration_id: integration.id, token_sealed: 'sealed', issued_at: now, expires_at: now + 60_000 }).execute();
    const usage = new UsageRecorder(database, systemClock, (error) => {
      throw error;
    });
    usage.record({ integrationId: integration.id, clientId: integration.clientId, environmentId, secretGeneration: 1, outcome: 'minted', scopes: [], audience: 'https://env.example/api', ip: '127.0.0.1' });
    await usage.flush();
    return integration;
  }

  /** Rows of the integration's child tables. */
  async function childRowsOf(ids: readonly string[]): Promise<Record<string, number>> {
    return {
      integration_secrets: await countWhere(database, 'integration_secrets', 'integration_id', ids),
      integration_grants: await countWhere(database, 'integration_grants', 'integration_id', ids),
      token_cache: await countWhere(database, 'token_cache', 'integration_id', ids),
      usage_daily: await countWhere(database, 'usage_daily', 'integration_id', ids),
    };
  }

  it('declares a cascading foreign key from every child table, usage_daily included', async () => {
    const keys = (await foreignKeys(database)).map((key) => `${key.child}.${key.column} -> ${key.parent}.${key.parentColumn}`).sort();
    expect(keys).toEqual(
      [
        'admin_environment_roles.admin_id -> admins.id',
        'admin_environment_roles.environment_id -> environments.id',
        'admin_sessions.admin_id -> admins.id',
        'assets.environment_id -> environments.id',
        'environment_browser_settings.environment_id -> environments.id',
        'integration_grants.integration_id -> integrations.id',
        'integration_secrets.integration_id -> integrations.id',
        'integrations.environment_id -> environments.id',
        'projects.environment_id -> environments.id',
        'templates.environment_id -> environments.id',
        'token_cache.integration_id -> integrations.id',
        'usage_daily.integration_id -> integrations.id',
      ].sort(),
    );
  });

  it('deleting an integration leaves no secret, grant, cached token or usage row of it', async () => {
    await createEnvironment(deps(), { id: 'cascade-int' }, SYSTEM_CONTEXT);
    const doomed = await integrationWithChildren('cascade-int', 'doomed');
    const kept = await integrationWithChildren('cascade-int', 'kept');
    expect(await childRowsOf([doomed.id])).toEqual({ integration_secrets: 1, integration_grants: 1, token_cache: 1, usage_daily: 1 });

    await deleteIntegration(deps(), doomed.clientId, SYSTEM_CONTEXT);

    expect(await childRowsOf([doomed.id])).toEqual({ integration_secrets: 0, integration_grants: 0, token_cache: 0, usage_daily: 0 });
    expect(await childRowsOf([kept.id])).toEqual({ integration_secrets: 1, integration_grants: 1, token_cache: 1, usage_daily: 1 });
    expect(await orphans(database)).toEqual([]);
  });

  it('deleting an environment leaves no row of it, of its integrations or of their children', async () => {
    await createEnvironment(deps(), { id: 'cascade-env' }, SYSTEM_CONTEXT);
    await createEnvironment(deps(), { id: 'cascade-other' }, SYSTEM_CONTEXT);
    const integrations = [await integrationWithChildren('cascade-env', 'one'), await integrationWithChildren('cascade-env', 'two')];
    const other = await integrationWithChildren('cascade-other', 'other');
    const ids = integrations.map((integration) => integration.id);
    const now = Date.now();
    const content = createEnvironmentApiRepositories(database);
    for (const environmentId of ['cascade-env', 'cascade-other']) {
      await content.templates.insert({ id: `tpl-${environmentId}`, environmentId, name: 't', contentJson: '{}', createdBy: integrations[0]!.clientId, at: now });
      await content.projects.insert({ id: `prj-${environmentId}`, environmentId, name: 'p', contentJson: '{}', createdBy: integrations[0]!.clientId, at: now, templateId: null });
      await content.assets.insert({ id: `med-${environmentId}`, environmentId, kind: 'media', name: 'm.png', contentType: 'image/png', size: 1, sha256: '00', blobKey: `${environmentId}/media/m`, createdBy: 'x', createdAt: now });
      await setBrowserSettings({ database, clock: systemClock }, environmentId, { allowedOrigins: ['https://app.example'] }, SYSTEM_CONTEXT);
    }
    const { admin } = await createAdmin({ database, clock: systemClock }, { email: 'cascade@example.com', password: 'a long enough password 1', platformAdmin: false, environments: { 'cascade-env': 'admin', 'cascade-other': 'viewer' } }, SYSTEM_CONTEXT);
    await createSession(database, systemClock, { idleSeconds: 3600, absoluteSeconds: 86400 }, admin.id);
    const environmentRows = async (environmentId: string) => ({
      integrations: await countWhere(database, 'integrations', 'environment_id', [environmentId]),
      admin_environment_roles: await countWhere(database, 'admin_environment_roles', 'environment_id', [environmentId]),
      templates: await countWhere(database, 'templates', 'environment_id', [environmentId]),
      projects: await countWhere(database, 'projects', 'environment_id', [environmentId]),
      assets: await countWhere(database, 'assets', 'environment_id', [environmentId]),
      environment_browser_settings: await countWhere(database, 'environment_browser_settings', 'environment_id', [environmentId]),
    });
    expect(await environmentRows('cascade-env')).toEqual({ integrations: 2, admin_environment_roles: 1, templates: 1, projects: 1, assets: 1, environment_browser_settings: 1 });
    expect(await childRowsOf(ids)).toEqual({ integration_secrets: 2, integration_grants: 2, token_cache: 2, usage_daily: 2 });

    await deleteEnvironment(deps(), 'cascade-env', SYSTEM_CONTEXT);

    expect(await environmentRows('cascade-env')).toEqual({ integrations: 0, admin_environment_roles: 0, templates: 0, projects: 0, assets: 0, environment_browser_settings: 0 });
    expect(await childRowsOf(ids)).toEqual({ integration_secrets: 0, integration_grants: 0, token_cache: 0, usage_daily: 0 });
    // The other environment, its integration and the admin (with their other role and session) stay.
    expect(await environmentRows('cascade-other')).toEqual({ integrations: 1, admin_environment_roles: 1, templates: 1, projects: 1, assets: 1, environment_browser_settings: 1 });
    expect(await childRowsOf([other.id])).toEqual({ integration_secrets: 1, integration_grants: 1, token_cache: 1, usage_daily: 1 });
    expect(await countWhere(database, 'admin_sessions', 'admin_id', [admin.id])).toBe(1);
    expect(await orphans(database)).toEqual([]);
  });

  it('counts a token request of an integration deleted before the flush nowhere, and keeps flushing', async () => {
    await createEnvironment(deps(), { id: 'cascade-usage' }, SYSTEM_CONTEXT);
    const { integration } = await createIntegration(deps(), { environmentId: 'cascade-usage', name: 'gone' }, SYSTEM_CONTEXT);
    const errors: unknown[] = [];
    const usage = new UsageRecorder(database, systemClock, (error) => errors.push(error));
    usage.record({ integrationId: integration.id, clientId: integration.clientId, environmentId: 'cascade-usage', secretGeneration: 1, outcome: 'minted', scopes: [], audience: 'https://env.example/api', ip: '127.0.0.1' });
    await deleteIntegration(deps(), integration.clientId, SYSTEM_CONTEXT);
    await usage.flush();
    expect(errors).toEqual([]);
    expect(await countWhere(database, 'usage_daily', 'integration_id', [integration.id])).toBe(0);
    expect(await orphans(database)).toEqual([]);
  });
});
