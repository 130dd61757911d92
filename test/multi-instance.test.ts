import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { createPostgresDatabase, type TestDatabase } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { setPermissions } from '../packages/server/src/platform/integrations.ts';
import { rotateSigningKey } from '../packages/server/src/keys/signing-keys.ts';

// Three instances over one PostgreSQL database, as behind a load balancer (design §8, issue 6).
// The change-feed poll is set to 10 s so that anything seen within a second proves LISTEN/NOTIFY.

async function token(lk: TestLatchkey, clientId: string, secret: string, params: Record<string, string> = {}) {
  const res = await lk.postToken({ grant_type: 'client_credentials', ...params }, { authorization: basicAuthorization(clientId, secret) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function within<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not seen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('three instances over one PostgreSQL database', () => {
  let database: TestDatabase;
  let instances: TestLatchkey[];
  // One issuer for the cluster, as behind a load balancer.
  const env = { LATCHKEY_ISSUER: 'http://latchkey.cluster.test', LATCHKEY_CHANGE_POLL_MS: '10000', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '5', LATCHKEY_AUTH_FAILURES_PER_IP: '1000' };

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const first = await startTestLatchkey({ dialect: 'postgres', testDatabase: database, env });
    await first.createEnvironment('demo');
    instances = [first, ...(await Promise.all([1, 2].map(() => startTestLatchkey({ dialect: 'postgres', testDatabase: database, env }))))];
  });
  afterAll(async () => {
    for (const lk of instances ?? []) await lk.close();
    await database?.drop();
  });

  it('gives a client alternating between instances always the same token', async () => {
    const { integration, clientSecret } = await instances[0]!.createIntegration();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => token(instances[i % 3]!, integration.clientId, clientSecret)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
  });

  it('shows a permission change made on one instance on the others within a second', async () => {
    const { integration, clientSecret } = await instances[0]!.createIntegration();
    for (const lk of instances) expect((await token(lk, integration.clientId, clientSecret)).body.scope).toContain('templates:write');
    const changedAt = Date.now();
    await setPermissions(instances[1]!.server.runtime.platform, integration.clientId, { 'environment-api': ['templates:read'] }, TEST_CONTEXT);
    for (const lk of instances) {
      await within(1000, async () => {
        const answer = await token(lk, integration.clientId, clientSecret);
        return answer.body.scope === 'templates:read' ? answer : undefined;
      });
    }
    expect(Date.now() - changedAt).toBeLessThan(3000);
  });

  it('refuses a token revoked on one instance on every instance within a second, and hands out a new one', async () => {
    const { integration, clientSecret } = await instances[0]!.createIntegration();
    const issued = (await token(instances[0]!, integration.clientId, clientSecret)).body.access_token!;
    const templates = (lk: TestLatchkey, accessToken: string) => fetch(`${lk.url}/api/v1/environments/demo/templates`, { headers: { authorization: `Bearer ${accessToken}` } }).then((res) => res.status);
    for (const lk of instances) expect(await templates(lk, issued)).toBe(200);
    // A subscriber of the revocation feed on the third instance, caught up before the revocation.
    const feed = new AbortController();
    const stream = await fetch(`${instances[2]!.url}/oauth/revocations`, { headers: { accept: 'text/event-stream' }, signal: feed.signal });
    const reader = stream.body!.getReader();
    let events = '';
    const read = async (pattern: string) => {
      while (!events.includes(pattern)) events += new TextDecoder().decode((await reader.read()).value);
    };
    await read('event: ready');

    const revoked = await fetch(`${instances[0]!.url}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(integration.clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: issued }),
    });
    expect(revoked.status).toBe(200);
    // At once where it was revoked; within a second everywhere else (LISTEN/NOTIFY: the poll is 10 s).
    expect(await templates(instances[0]!, issued)).toBe(401);
    for (const lk of instances.slice(1)) await within(1000, async () => ((await templates(lk, issued)) === 401 ? true : undefined));
    const jti = decodeJwt(issued).jti!;
    await Promise.race([read(jti), new Promise((_, reject) => setTimeout(() => reject(new Error('feed subscriber did not hear of the revocation within 1 s')), 1000))]);
    feed.abort();
    for (const lk of instances) {
      const next = await within(1000, async () => {
        const answer = await token(lk, integration.clientId, clientSecret);
        return answer.body.access_token !== issued ? answer.body.access_token : undefined;
      });
      expect(await templates(lk, next!)).toBe(200);
    }
  });

  it('never fails verification anywhere while a key is rotated on one instance', async () => {
    const { integration, clientSecret } = await instances[0]!.createIntegration();
    const runtime = instances[2]!.server.runtime;
    const jwksSets = instances.map((lk) => createRemoteJWKSet(new URL(`${lk.url}/.well-known/jwks.json`), { cooldownDuration: 0 }));
    const verifyEverywhere = async (accessToken: string) => {
      for (const jwks of jwksSets) await jwtVerify(accessToken, jwks, { issuer: instances[0]!.config.issuer });
    };
    const before = await token(instances[0]!, integration.clientId, clientSecret, { scope: 'media:read' });
    // Lead 0: the new key signs at once, the harshest case for verifiers.
    const rotated = await rotateSigningKey({ database: runtime.database, signingKeySealKey: runtime.keys.signingKeySealKey, tokenTtlSeconds: runtime.config.tokenTtlSeconds }, 'ES256', Date.now() - 1, 0, TEST_CONTEXT);
    await verifyEverywhere(before.body.access_token!);
    const after = await within(1000, async () => {
      const answer = await token(instances[1]!, integration.clientId, clientSecret, { scope: 'fonts:read' });
      return decodeJwt(answer.body.access_token!) && answer.body.access_token ? answer : undefined;
    });
    await verifyEverywhere(after.body.access_token!);
    // Every instance publishes the same key set, old and new key included.
    const sets = await Promise.all(instances.map(async (lk) => (await fetch(`${lk.url}/.well-known/jwks.json`)).text()));
    expect(new Set(sets).size).toBe(1);
    expect(sets[0]).toContain(rotated.kid);
  });

  it('shares failed-authentication limits between instances', async () => {
    const { integration } = await instances[0]!.createIntegration();
    for (let i = 0; i < 6; i++) await token(instances[i % 3]!, integration.clientId, 'lks_wrong');
    // After the shared table is read (once a second), every instance refuses the client.
    for (const lk of instances) {
      const limited = await within(2500, async () => {
        const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(integration.clientId, 'lks_wrong') });
        return res.status === 429 ? res : undefined;
      });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });
});

describe('uploads with several instances on PostgreSQL', () => {
  it('serves a file uploaded through one instance from another', async () => {
    const database = await createPostgresDatabase();
    const env = { LATCHKEY_ISSUER: 'http://latchkey.cluster.test' };
    const first = await startTestLatchkey({ dialect: 'postgres', testDatabase: database, env });
    const second = await startTestLatchkey({ dialect: 'postgres', testDatabase: database, env });
    try {
      await first.createEnvironment('demo');
      const { integration, clientSecret } = await first.createIntegration({ grants: { 'environment-api': ['media:read', 'media:write'] } });
      const { body } = await token(first, integration.clientId, clientSecret);
      // A 1x1 PNG.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
      const upload = await fetch(`${first.url}/api/v1/environments/demo/media?name=dot.png`, { method: 'POST', headers: { authorization: `Bearer ${body.access_token}`, 'content-type': 'image/png' }, body: png });
      expect(upload.status).toBe(201);
      const { id } = (await upload.json()) as { id: string };
      const download = await fetch(`${second.url}/api/v1/environments/demo/media/${id}`, { headers: { authorization: `Bearer ${body.access_token}` } });
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer())).toEqual(png);
    } finally {
      await second.close();
      await first.close();
      await database.drop();
    }
  });
});
