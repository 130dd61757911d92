// The settings of browser tokens (issue 16) over the Platform API, real HTTP and a real database:
// an integration's `browserTokens` (create, PATCH, PUT …/permissions; audited as a permission
// change), its read-only `browserUse`, and an environment's `browserTokenLifetimeSeconds` and
// `allowClientCredentialsFromBrowser` — with validation errors as problem documents, audit entries,
// and the abuse: viewers, a hostile integration of the same environment, unknown and read-only fields,
// a deleted and re-created environment id. (Tenancy route by route: tenancy-matrix.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, expectProblem, integrationClient, type SessionClient } from './support/platform-client.ts';
import { recordBrowserUse } from '../packages/server/src/storage/repositories/integrations.ts';

const READ_ONLY = ['templates:read', 'projects:read', 'media:read', 'fonts:read'];

describe.each(DIALECTS)('browser-token settings over the Platform API (%s)', (dialect) => {
  let lk: TestLatchkey;
  /** Platform admin. */
  let root: SessionClient;
  /** Admin of demo. */
  let alice: SessionClient;
  /** Viewer of demo. */
  let victor: SessionClient;
  /** An integration of demo that manages integrations but holds no audit:read. */
  let automation: Awaited<ReturnType<typeof integrationClient>>;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    [root, alice, victor] = await Promise.all([
      adminSession(lk, 'root@example.com', { platformAdmin: true }),
      adminSession(lk, 'alice@example.com', { environments: { demo: 'admin' } }),
      adminSession(lk, 'victor@example.com', { environments: { demo: 'viewer' } }),
    ]);
    automation = await integrationClient(lk, 'demo', ['integrations:read', 'integrations:write']);
  });
  afterAll(async () => lk?.close());

  /** The environment's audit entries with this action, newest first. */
  const auditOf = async (environmentId: string, action: string) => {
    const res = await root.request('GET', `/api/v1/environments/${environmentId}/audit?action=${encodeURIComponent(action)}&limit=200`);
    expect(res.status, res.text).toBe(200);
    return res.body.entries as { actor: { type: string; id: string }; target: { type: string; id: string }; details: Record<string, unknown> }[];
  };

  describe('integration browserTokens and browserUse', () => {
    it('is off by default, settable on create, and shown with browserUse null until a browser is seen', async () => {
      const plain = await alice.request('POST', '/api/v1/environments/demo/integrations', { body: { name: 'Plain backend', preset: 'all' } });
      expect(plain.status, plain.text).toBe(201);
      expect(plain.body.integration).toMatchObject({ browserTokens: false, browserUse: null });

      const created = await alice.request('POST', '/api/v1/environments/demo/integrations', { body: { name: 'Editor backend', preset: 'all', browserTokens: true } });
      expect(created.status, created.text).toBe(201);
      const clientId = created.body.integration.clientId as string;
      expect(created.body.integration).toMatchObject({ browserTokens: true, browserUse: null });
      const fetched = await victor.request('GET', `/api/v1/environments/demo/integrations/${clientId}`);
      expect(fetched.body).toMatchObject({ browserTokens: true, browserUse: null });
      const [entry] = await auditOf('demo', 'integration.create').then((entries) => entries.filter((e) => e.target.id === clientId));
      expect(entry?.details).toEqual({ name: 'Editor backend', description: '', grants: { 'environment-api': expect.any(Array) }, browserTokens: true });
      // The list carries it too.
      const list = await victor.request('GET', '/api/v1/environments/demo/integrations?name=editor%20backend');
      expect(list.body.integrations.map((i: { clientId: string; browserTokens: boolean }) => [i.clientId, i.browserTokens])).toEqual([[clientId, true]]);
    });

    it('turns on and off through PUT …/permissions, alone or with grants: one audited permission change each, no grant-version bump, nothing revoked', async () => {
      const { integration } = await lk.createIntegration({ name: 'Permissions tab', grants: { 'environment-api': READ_ONLY } });
      const path = `/api/v1/environments/demo/integrations/${integration.clientId}/permissions`;
      expect((await victor.request('GET', path)).body).toEqual({ grants: { 'environment-api': READ_ONLY }, grantVersion: 1, browserTokens: false });

      const on = await alice.request('PUT', path, { body: { browserTokens: true } });
      expect(on.status, on.text).toBe(200);
      expect(on.body).toEqual({
        grants: { 'environment-api': READ_ONLY },
        grantVersion: 1,
        browserTokens: true,
        changed: { added: [], removed: [], browserTokens: true },
        note: expect.stringMatching(/may now exchange its access tokens for read-only browser tokens/),
      });
      // The same again changes nothing and records nothing.
      const again = await alice.request('PUT', path, { body: { browserTokens: true } });
      expect(again.body).toMatchObject({ browserTokens: true, changed: { added: [], removed: [] } });
      expect(again.body.changed.browserTokens).toBeUndefined();

      const both = await alice.request('PUT', path, { body: { grants: { 'environment-api': ['templates:read'] }, browserTokens: false } });
      expect(both.status, both.text).toBe(200);
      expect(both.body).toMatchObject({ grants: { 'environment-api': ['templates:read'] }, grantVersion: 2, browserTokens: false, changed: { added: [], browserTokens: false } });
      expect(both.body.note).toMatch(/revoked.*Its next token exchange is refused/s);

      const entries = (await auditOf('demo', 'integration.permissions.set')).filter((e) => e.target.id === integration.clientId).reverse();
      expect(entries.map((e) => [e.actor.id, e.details])).toEqual([
        ['alice@example.com', { browserTokens: { from: false, to: true } }],
        ['alice@example.com', { before: { 'environment-api': READ_ONLY }, after: { 'environment-api': ['templates:read'] }, browserTokens: { from: true, to: false }, tokensRevoked: true }],
      ]);
      const fetched = await alice.request('GET', `/api/v1/environments/demo/integrations/${integration.clientId}`);
      expect(fetched.body.browserTokens).toBe(false);
    });

    it('turns on through PATCH on the integration, audited as a permission change apart from the rename', async () => {
      const { integration } = await lk.createIntegration({ name: 'Patched' });
      const path = `/api/v1/environments/demo/integrations/${integration.clientId}`;
      const patched = await alice.request('PATCH', path, { body: { browserTokens: true, name: 'Patched twice' } });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body).toMatchObject({ name: 'Patched twice', browserTokens: true, browserUse: null, grantVersion: 1 });
      expect((await auditOf('demo', 'integration.permissions.set')).filter((e) => e.target.id === integration.clientId).map((e) => e.details)).toEqual([{ browserTokens: { from: false, to: true } }]);
      expect((await auditOf('demo', 'integration.update')).filter((e) => e.target.id === integration.clientId).map((e) => e.details)).toEqual([{ name: { from: 'Patched', to: 'Patched twice' } }]);
      const off = await alice.request('PATCH', path, { body: { browserTokens: false } });
      expect(off.body).toMatchObject({ name: 'Patched twice', browserTokens: false });
    });

    it('refuses malformed and read-only fields with a problem document naming the field, and changes nothing', async () => {
      const { integration } = await lk.createIntegration({ name: 'Malformed' });
      const base = `/api/v1/environments/demo/integrations/${integration.clientId}`;
      const cases: [string, string, unknown][] = [
        ['PUT', `${base}/permissions`, { browserTokens: 'maybe' }],
        ['PUT', `${base}/permissions`, { browserUse: null }],
        ['PUT', `${base}/permissions`, {}],
        ['PATCH', base, { browserTokens: 7 }],
        ['PATCH', base, { browserUse: { origin: 'https://forged.example', ip: '1.2.3.4', firstSeenAt: '2026-01-01T00:00:00Z', lastSeenAt: '2026-01-01T00:00:00Z', count: 0 } }],
        ['PATCH', base, { browserUse: null }],
        ['POST', '/api/v1/environments/demo/integrations', { name: 'Bad flag', browserTokens: 'yes' }],
      ];
      for (const [method, path, body] of cases) {
        const problem = expectProblem(await alice.request(method, path, { body }), 400, 'validation_failed');
        expect(problem.errors?.length, `${method} ${JSON.stringify(body)}: ${JSON.stringify(problem)}`).toBeGreaterThan(0);
      }
      const after = await alice.request('GET', base);
      expect(after.body).toMatchObject({ browserTokens: false, browserUse: null, name: 'Malformed' });
    });

    it('refuses viewers, and an integration that would change one holding Platform API scopes it lacks', async () => {
      const { integration: auditor } = await lk.createIntegration({ name: 'Auditor', grants: { 'platform-api': ['audit:read'] } });
      const path = `/api/v1/environments/demo/integrations/${auditor.clientId}/permissions`;
      expectProblem(await victor.request('PUT', path, { body: { browserTokens: true } }), 403, 'forbidden');
      expectProblem(await automation.request('PUT', path, { body: { browserTokens: true } }), 403, 'scope_escalation');
      expectProblem(await automation.request('PATCH', `/api/v1/environments/demo/integrations/${auditor.clientId}`, { body: { browserTokens: true } }), 403, 'scope_escalation');
      expect((await alice.request('GET', path)).body.browserTokens).toBe(false);
      // One it may manage: allowed, and the integration is the audited actor.
      const { integration: managed } = await lk.createIntegration({ name: 'Managed' });
      const res = await automation.request('PUT', `/api/v1/environments/demo/integrations/${managed.clientId}/permissions`, { body: { browserTokens: true } });
      expect(res.status, res.text).toBe(200);
      const [entry] = (await auditOf('demo', 'integration.permissions.set')).filter((e) => e.target.id === managed.clientId);
      expect(entry?.actor).toEqual({ type: 'integration', id: automation.integration.integration.clientId });
    });

    it('shows browserUse once the token endpoint recorded an Origin for the integration', async () => {
      const { integration } = await lk.createIntegration({ name: 'Seen from a page' });
      const at = Date.UTC(2026, 5, 1, 12, 0, 0);
      await recordBrowserUse(lk.database.db, { integrationId: integration.id, origin: 'https://editor.example', ip: '203.0.113.7', at });
      await recordBrowserUse(lk.database.db, { integrationId: integration.id, origin: 'https://other.example', ip: '203.0.113.8', at: at + 60_000 });
      const res = await victor.request('GET', `/api/v1/environments/demo/integrations/${integration.clientId}`);
      expect(res.body.browserUse).toEqual({ origin: 'https://other.example', ip: '203.0.113.8', firstSeenAt: '2026-06-01T12:00:00.000Z', lastSeenAt: '2026-06-01T12:01:00.000Z', count: 2 });
      // Recording use is not an admin change: nothing in the audit log, and the integration's updatedAt stays.
      expect(res.body.updatedAt).toBe(new Date(integration.updatedAt).toISOString());
    });
  });

  describe('environment browserTokenLifetimeSeconds and allowClientCredentialsFromBrowser', () => {
    it('reads the defaults, changes each field alone (environment admins), audits what changed, and the environment shows them', async () => {
      await lk.createEnvironment('settings');
      const carol = await adminSession(lk, 'carol@example.com', { environments: { settings: 'admin' } });
      const path = '/api/v1/environments/settings/browser-tokens';
      expect((await carol.request('GET', path)).body).toEqual({ browserTokenLifetimeSeconds: 900, allowClientCredentialsFromBrowser: false });

      const lifetime = await carol.request('PATCH', path, { body: { browserTokenLifetimeSeconds: 120 } });
      expect(lifetime.status, lifetime.text).toBe(200);
      expect(lifetime.body).toEqual({ browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: false });
      const allow = await carol.request('PATCH', path, { body: { allowClientCredentialsFromBrowser: true } });
      expect(allow.body).toEqual({ browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: true });
      // The same values again: nothing to record.
      expect((await carol.request('PATCH', path, { body: { browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: true } })).status).toBe(200);

      const environment = await carol.request('GET', '/api/v1/environments/settings');
      expect(environment.body).toMatchObject({ id: 'settings', browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: true });
      const listed = await root.request('GET', '/api/v1/environments');
      expect(listed.body.environments.find((e: { id: string }) => e.id === 'settings')).toMatchObject({ browserTokenLifetimeSeconds: 120, allowClientCredentialsFromBrowser: true });
      expect(listed.body.environments.find((e: { id: string }) => e.id === 'demo')).toMatchObject({ browserTokenLifetimeSeconds: 900, allowClientCredentialsFromBrowser: false });

      const entries = (await auditOf('settings', 'environment.browser_tokens.update')).reverse();
      expect(entries.map((e) => [e.actor.id, e.target, e.details])).toEqual([
        ['carol@example.com', { type: 'environment', id: 'settings' }, { browserTokenLifetimeSeconds: { from: 900, to: 120 } }],
        ['carol@example.com', { type: 'environment', id: 'settings' }, { allowClientCredentialsFromBrowser: { from: false, to: true } }],
      ]);
    });

    it('refuses a lifetime outside 60..3600 s, a wrong type, an unknown field and an empty body, naming the field; nothing changes', async () => {
      await lk.createEnvironment('bounds');
      const path = '/api/v1/environments/bounds/browser-tokens';
      const cases: [unknown, string][] = [
        [{ browserTokenLifetimeSeconds: 59 }, 'browserTokenLifetimeSeconds'],
        [{ browserTokenLifetimeSeconds: 3601 }, 'browserTokenLifetimeSeconds'],
        [{ browserTokenLifetimeSeconds: 90.5 }, 'browserTokenLifetimeSeconds'],
        [{ browserTokenLifetimeSeconds: 'an hour' }, 'browserTokenLifetimeSeconds'],
        [{ browserTokenLifetimeSeconds: -900 }, 'browserTokenLifetimeSeconds'],
        [{ browserTokenLifetimeSeconds: 1e300 }, 'browserTokenLifetimeSeconds'],
        [{ allowClientCredentialsFromBrowser: 'please' }, 'allowClientCredentialsFromBrowser'],
        // support/problem.ts names the object that has an unknown property, not the property.
        [{ allowWriteTokens: true }, 'additional properties'],
        [{}, ''],
      ];
      for (const [body, field] of cases) {
        const problem = expectProblem(await alice.request('PATCH', path.replace('bounds', 'demo'), { body }), 400, 'validation_failed');
        expect(JSON.stringify(problem.errors), JSON.stringify(body)).toContain(field);
      }
      expect((await root.request('PATCH', path, { body: { browserTokenLifetimeSeconds: 60 } })).body.browserTokenLifetimeSeconds).toBe(60);
      expect((await root.request('PATCH', path, { body: { browserTokenLifetimeSeconds: 3600 } })).body.browserTokenLifetimeSeconds).toBe(3600);
      expect((await alice.request('GET', '/api/v1/environments/demo/browser-tokens')).body).toEqual({ browserTokenLifetimeSeconds: 900, allowClientCredentialsFromBrowser: false });
      expectProblem(await root.request('PATCH', '/api/v1/environments/nowhere/browser-tokens', { body: { browserTokenLifetimeSeconds: 600 } }), 404, 'environment_not_found');
    });

    it('refuses viewers and integrations without integrations:write; an automation with it may change its own environment only', async () => {
      const path = '/api/v1/environments/demo/browser-tokens';
      expectProblem(await victor.request('PATCH', path, { body: { allowClientCredentialsFromBrowser: true } }), 403, 'forbidden');
      const reader = await integrationClient(lk, 'demo', ['integrations:read']);
      expectProblem(await reader.request('PATCH', path, { body: { allowClientCredentialsFromBrowser: true } }), 403, 'insufficient_scope');
      expect((await reader.request('GET', path)).status).toBe(200);
      await lk.createEnvironment('elsewhere');
      expectProblem(await automation.request('PATCH', '/api/v1/environments/elsewhere/browser-tokens', { body: { browserTokenLifetimeSeconds: 300 } }), 403, 'wrong_environment');
      expect((await root.request('GET', '/api/v1/environments/elsewhere/browser-tokens')).body.browserTokenLifetimeSeconds).toBe(900);
      const own = await automation.request('PATCH', path, { body: { browserTokenLifetimeSeconds: 300 } });
      expect(own.status, own.text).toBe(200);
      expect((await alice.request('PATCH', path, { body: { browserTokenLifetimeSeconds: 900 } })).body.browserTokenLifetimeSeconds).toBe(900);
    });

    it('records the change for every token endpoint: an environment change and one per integration of the environment', async () => {
      await lk.createEnvironment('feed');
      const one = await lk.createIntegration({ environmentId: 'feed', name: 'one' });
      const two = await lk.createIntegration({ environmentId: 'feed', name: 'two' });
      const outsider = await lk.createIntegration({ environmentId: 'demo', name: 'outsider' });
      const from = await lk.database.db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow();
      expect((await root.request('PATCH', '/api/v1/environments/feed/browser-tokens', { body: { allowClientCredentialsFromBrowser: true } })).status).toBe(200);
      const changes = await lk.database.db.selectFrom('changes').select(['kind', 'subject']).where('seq', '>', Number(from.seq ?? 0)).execute();
      expect(changes.map((c) => `${c.kind} ${c.subject}`).sort()).toEqual(['environment feed', `integration ${one.integration.clientId}`, `integration ${two.integration.clientId}`].sort());
      expect(changes.some((c) => c.subject === outsider.integration.clientId)).toBe(false);
    });

    it('gives a deleted and re-created environment id the defaults again', async () => {
      await lk.createEnvironment('reborn');
      expect((await root.request('PATCH', '/api/v1/environments/reborn/browser-tokens', { body: { browserTokenLifetimeSeconds: 61, allowClientCredentialsFromBrowser: true } })).status).toBe(200);
      expect((await root.request('DELETE', '/api/v1/environments/reborn')).status).toBe(204);
      expect((await root.request('POST', '/api/v1/environments', { body: { id: 'reborn' } })).status).toBe(201);
      expect((await root.request('GET', '/api/v1/environments/reborn/browser-tokens')).body).toEqual({ browserTokenLifetimeSeconds: 900, allowClientCredentialsFromBrowser: false });
    });
  });
});
