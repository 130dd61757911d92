// Revocation reaches an API that is not Latchkey (issue 13, point 5): a separate process running
// @latchkey/resource with its defaults (bench/resource-api.ts) follows the real server's revocation
// feed. With the token warm in its verified-token cache, a revocation — by the client (RFC 7009), by an
// admin (revoke all tokens), by disabling the integration — is refused there within the documented
// second, and Latchkey's own Environment API refuses it at once. Both dialects.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, findFreePort, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, type SessionClient } from './support/platform-client.ts';

const RESOURCE_API = fileURLToPath(new URL('../bench/resource-api.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The documented bound for a revocation to reach an API that uses @latchkey/resource. */
const WITHIN_MS = 1000;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** Starts bench/resource-api.ts for this issuer and waits until it listens. */
async function startResourceApi(lk: TestLatchkey): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', RESOURCE_API], {
    cwd: REPO_ROOT,
    env: { ...process.env, ISSUER: lk.config.issuer, AUDIENCE: lk.config.environmentApiAudience, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`resource API did not start: ${output}`)), 20_000);
    child.stdout!.on('data', () => {
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`resource API exited (${code}): ${output}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, output: () => output };
}

async function get(url: string, token: string): Promise<Answer> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** Polls until the API refuses the token, failing after `WITHIN_MS` from the call. */
async function refusedWithin(url: string, token: string): Promise<Answer> {
  const deadline = Date.now() + WITHIN_MS;
  for (;;) {
    const answer = await get(url, token);
    if (answer.status !== 200) return answer;
    if (Date.now() > deadline) throw new Error(`still accepted ${WITHIN_MS} ms after the revocation answered`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function expectRevoked(answer: Answer): void {
  expect(answer.status).toBe(401);
  expect(answer.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="the token has been revoked"/);
  expect(answer.body).toMatchObject({ error: 'invalid_token', code: 'ERR_TOKEN_REVOKED' });
}

describe.each(DIALECTS)('revocation at a separate @latchkey/resource process (%s)', (dialect) => {
  let lk: TestLatchkey;
  let api: Awaited<ReturnType<typeof startResourceApi>>;
  let root: SessionClient;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    root = await adminSession(lk, 'root@example.com', { platformAdmin: true });
    api = await startResourceApi(lk);
  });
  afterAll(async () => {
    api?.child.kill('SIGTERM');
    await lk?.close();
  });

  async function client(name: string): Promise<{ clientId: string; clientSecret: string; token: () => Promise<string> }> {
    const created = await root.request('POST', '/api/v1/environments/demo/integrations', { body: { name, preset: 'all' } });
    expect(created.status).toBe(201);
    const clientId = created.body.integration.clientId as string;
    const clientSecret = created.body.clientSecret as string;
    return {
      clientId,
      clientSecret,
      token: async () => {
        const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, clientSecret) });
        expect(res.status).toBe(200);
        return ((await res.json()) as { access_token: string }).access_token;
      },
    };
  }

  /** The same token, twice, accepted by the separate API: it is now in its verified-token cache. */
  async function warm(token: string): Promise<void> {
    for (let i = 0; i < 2; i++) expect((await get(`${api.url}/things`, token)).status).toBe(200);
  }

  it('follows the feed once it verifies a token', async () => {
    await warm(await (await client('first')).token());
    const status = (await (await fetch(`${api.url}/revocation-status`)).json()) as { state: string; stale: boolean; feedUrl: string };
    expect(status).toMatchObject({ state: 'live', stale: false, feedUrl: `${lk.config.issuer}/oauth/revocations` });
  });

  it('refuses a token its client revoked (RFC 7009), cached or not, within a second', async () => {
    const who = await client('revokes its own');
    const token = await who.token();
    await warm(token);
    const revoked = await fetch(`${lk.url}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(who.clientId, who.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(revoked.status).toBe(200);
    expect((await get(`${lk.url}/api/v1/environments/demo/templates`, token)).status).toBe(401);
    expectRevoked(await refusedWithin(`${api.url}/things`, token));
    // The next token is a new one, and the separate API accepts it.
    const next = await who.token();
    expect(next).not.toBe(token);
    expect((await get(`${api.url}/things`, next)).status).toBe(200);
  });

  it('refuses every earlier token of an integration after Revoke all tokens, and after a disable', async () => {
    const who = await client('revoked by an admin');
    const token = await who.token();
    await warm(token);
    expect((await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/revoke-tokens`)).status).toBe(200);
    expect((await get(`${lk.url}/api/v1/environments/demo/templates`, token)).status).toBe(401);
    expectRevoked(await refusedWithin(`${api.url}/things`, token));
    const after = await who.token();
    await warm(after);

    expect((await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/disable`)).status).toBe(200);
    expectRevoked(await refusedWithin(`${api.url}/things`, after));
  });

  it('keeps accepting the tokens nobody revoked', async () => {
    const bystander = await client('bystander');
    const token = await bystander.token();
    await warm(token);
    const other = await client('revoked neighbour');
    expect((await root.request('POST', `/api/v1/environments/demo/integrations/${other.clientId}/revoke-tokens`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await get(`${api.url}/things`, token)).status).toBe(200);
    expect(api.output()).not.toMatch(/lks_|eyJ/);
  });
});
