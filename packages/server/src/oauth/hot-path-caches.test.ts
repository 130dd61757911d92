import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../../../test/support/databases.ts';
import { loadConfig } from '../config/load-config.ts';
import { rotateSigningKey } from '../keys/signing-keys.ts';
import type { ActionContext } from '../platform/audit.ts';
import { createEnvironment, deleteEnvironment, renameEnvironment } from '../platform/environments.ts';
import {
  createIntegration,
  deleteIntegration,
  getIntegration,
  revokeIntegrationTokens,
  revokeSecret,
  rotateSecret,
  setIntegrationDisabled,
  setPermissions,
} from '../platform/integrations.ts';
import { revokeAccessToken } from '../platform/revocations.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { openDatabase, type Database } from '../storage/database.ts';
import { createManualClock, type ManualClock } from '../support/clock.ts';
import { OAuthError } from './errors.ts';
import type { TokenEndpointRequest } from './token-endpoint.ts';
import type { IssuedToken, TokenEndpointResult } from './token-response.ts';

// The invalidation contract of hot-path-caches.ts, proven black-box: each cache is warmed the way
// the token endpoint warms it, a change is made through the domain functions a server uses (they
// apply it to this process's caches before they return), and then no cached answer may be served.
// Real database, real runtime, no mocks; the clock is the only thing moved by hand.

const CONTEXT: ActionContext = { actor: { type: 'system', id: 'hot-path-caches.test' } };
const TTL_SECONDS = 3600;
const REFRESH_WINDOW_SECONDS = 600;

const basic = (clientId: string, clientSecret: string) => `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;

function issued(result: TokenEndpointResult): IssuedToken {
  if (result instanceof OAuthError) throw new Error(`expected a token, got ${result.error}: ${result.description}`);
  return result;
}

function jtiOf(token: string): { jti: string; exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; exp: number };
}

for (const dialect of DIALECTS) {
  describe(`hot-path caches: the invalidation contract (${dialect})`, () => {
    let testDatabase: TestDatabase;
    let database: Database;
    let clock: ManualClock;
    let runtime: Runtime;
    let client: { clientId: string; clientSecret: string };

    beforeEach(async () => {
      testDatabase = await createTestDatabase(dialect);
      const config = loadConfig({
        LATCHKEY_ISSUER: 'http://127.0.0.1:1',
        LATCHKEY_DATABASE_URL: testDatabase.url,
        LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64url'),
        LATCHKEY_TOKEN_TTL: String(TTL_SECONDS),
        LATCHKEY_TOKEN_REFRESH_WINDOW: String(REFRESH_WINDOW_SECONDS),
        LATCHKEY_CHANGE_POLL_MS: '100',
      });
      database = await openDatabase(config.databaseUrl);
      clock = createManualClock(Date.now());
      runtime = await createRuntime({ config, database, clock, logger: pino({ level: 'silent' }) });
      await createEnvironment(runtime.platform, { id: 'demo' }, CONTEXT);
      const created = await createIntegration(runtime.platform, { environmentId: 'demo', name: 'cached', grants: { 'environment-api': runtime.apis.presetScopes('all') } }, CONTEXT);
      client = { clientId: created.integration.clientId, clientSecret: created.clientSecret };
    });

    afterEach(async () => {
      await runtime.stop();
      await database.close();
      await testDatabase.drop();
    });

    /** The raw token request the client sends every time. */
    const requestOf = (clientId: string, clientSecret: string): TokenEndpointRequest => ({
      query: undefined,
      authorization: basic(clientId, clientSecret),
      body: { contentType: 'application/x-www-form-urlencoded', text: 'grant_type=client_credentials' },
      ip: '127.0.0.1',
    });

    const ask = async (request: TokenEndpointRequest) => runtime.handleTokenRequest(request);

    /**
     * Warms all three caches as traffic does (a mint, then a cached answer that is remembered, then
     * an exact repeat answered from memory) and checks that each cache now holds the answer.
     */
    async function warm(clientId = client.clientId, clientSecret = client.clientSecret) {
      const request = requestOf(clientId, clientSecret);
      const token = issued(await ask(request)).accessToken;
      expect(issued(await ask(request)).accessToken).toBe(token);
      const repeat = runtime.handleTokenRequest(request);
      expect(repeat).not.toBeInstanceOf(Promise);
      expect(issued(await repeat).accessToken).toBe(token);

      const { caches } = runtime;
      const record = caches.peekClient(clientId);
      expect(record).toBeTruthy();
      const secret = Buffer.from(clientSecret, 'utf8');
      expect(caches.verifiedGeneration(record!, secret, clock.now())).toBeTypeOf('number');
      expect(caches.findRepeat(request, clock.now())?.token.token).toBe(token);
      return { request, token, record: record!, secret };
    }

    /** After a change: nothing of what `warm` cached may be served. */
    function expectNothingServed(warmed: Awaited<ReturnType<typeof warm>>, clientId = client.clientId) {
      const { caches } = runtime;
      expect(caches.findRepeat(warmed.request, clock.now())).toBeUndefined();
      expect(caches.peekClient(clientId)).not.toBe(warmed.record);
      expect(caches.verifiedGeneration(warmed.record, warmed.secret, clock.now())).toBeUndefined();
    }

    async function expectInvalidClient(request: TokenEndpointRequest) {
      const result = await ask(request);
      expect(result).toBeInstanceOf(OAuthError);
      expect((result as OAuthError).error).toBe('invalid_client');
    }

    it('integration change — secret rotated without grace: the old secret is refused at once', async () => {
      const warmed = await warm();
      const rotated = await rotateSecret(runtime.platform, client.clientId, { graceSeconds: 0 }, CONTEXT);
      expectNothingServed(warmed);
      await expectInvalidClient(warmed.request);
      const fresh = issued(await ask(requestOf(client.clientId, rotated.clientSecret)));
      expect(fresh.accessToken).not.toBe(warmed.token);
    });

    it('integration change — one secret revoked: it is refused at once, the other keeps working', async () => {
      const rotated = await rotateSecret(runtime.platform, client.clientId, { graceSeconds: 3600 }, CONTEXT);
      const warmed = await warm(client.clientId, client.clientSecret);
      const old = (await getIntegration(runtime.platform, client.clientId)).secrets.find((secret) => secret.expiresAt !== null)!;
      await revokeSecret(runtime.platform, client.clientId, old.id, CONTEXT);
      expectNothingServed(warmed);
      await expectInvalidClient(warmed.request);
      issued(await ask(requestOf(client.clientId, rotated.clientSecret)));
    });

    it('integration change — permissions narrowed: the next answer carries the new scopes', async () => {
      const warmed = await warm();
      const [kept] = runtime.apis.presetScopes('all');
      await setPermissions(runtime.platform, client.clientId, { 'environment-api': [kept!] }, CONTEXT);
      expectNothingServed(warmed);
      const after = issued(await ask(warmed.request));
      expect(after.scope).toBe(kept);
      expect(after.accessToken).not.toBe(warmed.token);
    });

    it('integration change — disabled: refused at once', async () => {
      const warmed = await warm();
      await setIntegrationDisabled(runtime.platform, client.clientId, true, CONTEXT);
      expectNothingServed(warmed);
      await expectInvalidClient(warmed.request);
    });

    it('integration change — its tokens revoked: a new token is issued, never the revoked one', async () => {
      const warmed = await warm();
      await revokeIntegrationTokens(runtime.platform, client.clientId, CONTEXT);
      expectNothingServed(warmed);
      expect(issued(await ask(warmed.request)).accessToken).not.toBe(warmed.token);
    });

    it('integration change — deleted: refused at once', async () => {
      const warmed = await warm();
      await deleteIntegration(runtime.platform, client.clientId, CONTEXT);
      expectNothingServed(warmed);
      await expectInvalidClient(warmed.request);
    });

    it('environment deleted (one integration change per integration): refused at once', async () => {
      const warmed = await warm();
      await deleteEnvironment(runtime.platform, 'demo', CONTEXT);
      expectNothingServed(warmed);
      await expectInvalidClient(warmed.request);
    });

    it('an integration change forgets a client ID remembered as unknown (creating one records such a change)', async () => {
      // The directory remembers unknown IDs too (as null), so a probe costs what a wrong secret does.
      const other = await createIntegration(runtime.platform, { environmentId: 'demo', name: 'other', grants: { 'environment-api': runtime.apis.presetScopes('all') } }, CONTEXT);
      const otherId = other.integration.clientId;
      await deleteIntegration(runtime.platform, otherId, CONTEXT);
      await expectInvalidClient(requestOf(otherId, other.clientSecret));
      expect(runtime.caches.peekClient(otherId)).toBeNull();
      runtime.caches.applyChanges([{ kind: 'integration', subject: otherId }]);
      expect(runtime.caches.peekClient(otherId)).toBeUndefined();
    });

    it('a change made by another process (the CLI, another instance) applies the same contract when the change feed delivers it', async () => {
      const warmed = await warm();
      // The CLI's deps: the same database, no bus of this process; the runtime's watcher reads the feed.
      const { changes: _bus, ...cliDeps } = runtime.platform;
      await setIntegrationDisabled(cliDeps, client.clientId, true, CONTEXT);
      await vi.waitFor(() => expect(runtime.caches.peekClient(client.clientId)).not.toBe(warmed.record), { timeout: 5_000, interval: 20 });
      expectNothingServed(warmed);
      await expectInvalidClient(warmed.request);
    });

    it('token revocation (RFC 7009): that token is never handed out again', async () => {
      const warmed = await warm();
      const { jti, exp } = jtiOf(warmed.token);
      await revokeAccessToken(runtime.platform, { jti, exp, clientId: client.clientId, environmentId: 'demo' }, CONTEXT);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())).toBeUndefined();
      expect(issued(await ask(warmed.request)).accessToken).not.toBe(warmed.token);
    });

    it('environment renamed: invalidates nothing, and the cached token is still the answer', async () => {
      const warmed = await warm();
      await renameEnvironment(runtime.platform, 'demo', 'Renamed', CONTEXT);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())?.token.token).toBe(warmed.token);
      expect(runtime.caches.peekClient(client.clientId)).toBe(warmed.record);
    });

    it('signing key rotated: invalidates nothing, and the cached token stays verifiable (its key stays published)', async () => {
      const warmed = await warm();
      const { kid } = JSON.parse(Buffer.from(warmed.token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
      const keyDeps = { database, signingKeySealKey: runtime.keys.signingKeySealKey, tokenTtlSeconds: TTL_SECONDS };
      await rotateSigningKey({ ...keyDeps }, runtime.config.signingAlgorithm, clock.now(), 0, CONTEXT);
      // A write through the domain publishes to the bus; key rotation records a `keys` change the feed delivers.
      await runtime.changes.publish([{ kind: 'keys', subject: 'rotated' }]);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())?.token.token).toBe(warmed.token);
      expect(issued(await ask(warmed.request)).accessToken).toBe(warmed.token);
      expect(JSON.parse(runtime.keyStore.jwks(clock.now())).keys.map((key: { kid: string }) => key.kid)).toContain(kid);
    });

    it('time — the matched secret expires: refused from that moment on', async () => {
      const rotated = await rotateSecret(runtime.platform, client.clientId, { graceSeconds: 60 }, CONTEXT);
      const warmed = await warm(client.clientId, client.clientSecret);
      clock.advance(59_000);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())).toBeDefined();
      clock.advance(1_000);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())).toBeUndefined();
      expect(runtime.caches.verifiedGeneration(warmed.record, warmed.secret, clock.now())).toBeUndefined();
      await expectInvalidClient(warmed.request);
      issued(await ask(requestOf(client.clientId, rotated.clientSecret)));
    });

    it('time — the token enters its refresh window: a new token is issued', async () => {
      const warmed = await warm();
      clock.advance((TTL_SECONDS - REFRESH_WINDOW_SECONDS) * 1000 - 2_000);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())).toBeDefined();
      clock.advance(2_000);
      expect(runtime.caches.findRepeat(warmed.request, clock.now())).toBeUndefined();
      expect(issued(await ask(warmed.request)).accessToken).not.toBe(warmed.token);
    });
  });
}
