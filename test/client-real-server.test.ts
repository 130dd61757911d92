// Proof for @latchkey/client and `latchkey token` (issue 5, points 4 and 6): the SDK against a real
// Latchkey server, through a small proxy that can answer 429 and 503 in its place, and the CLI run
// as a real child process.
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizedFetch, TokenClient, TokenNetworkError, TokenRequestError } from '@latchkey/client';
import { createManualClock, findFreePort, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { cliEnvironment, describeRun, LATCHKEY_BIN, REPO_ROOT, runCli, type CliResult } from './support/cli.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];

/** What the proxy does with the next request: pass it on, or answer in the server's place. */
type Step = 'pass' | { status: 429 | 503 | 500; retryAfter?: string; body?: string };

/** A reverse proxy in front of Latchkey that plays a scripted list of failures first. */
class FlakyProxy {
  readonly server: http.Server;
  plan: Step[] = [];
  /** Requests seen, and how many reached Latchkey. */
  seen = 0;
  passed = 0;

  constructor(private readonly upstream: string) {
    this.server = http.createServer((request, response) => {
      this.seen += 1;
      const step = this.plan.shift() ?? 'pass';
      if (step !== 'pass') {
        request.resume();
        response.writeHead(step.status, { 'content-type': 'application/json', ...(step.retryAfter === undefined ? {} : { 'retry-after': step.retryAfter }) });
        response.end(step.body ?? JSON.stringify({ error: 'temporarily_unavailable', error_description: 'scripted failure' }));
        return;
      }
      this.passed += 1;
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
        const upstream = await fetch(`${this.upstream}${request.url}`, { method: request.method, headers, body: chunks.length === 0 ? undefined : Buffer.concat(chunks) });
        const body = Buffer.from(await upstream.arrayBuffer());
        response.writeHead(upstream.status, Object.fromEntries([...upstream.headers].filter(([name]) => name !== 'content-encoding' && name !== 'transfer-encoding')));
        response.end(body);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.plan = [];
    this.seen = 0;
    this.passed = 0;
  }
}

describe('@latchkey/client against a real Latchkey', () => {
  const clock = createManualClock(Date.now());
  let lk: TestLatchkey;
  let proxy: FlakyProxy;
  let proxyUrl: string;
  let clientId: string;
  let clientSecret: string;
  const sleeps: number[] = [];
  const sleep = async (milliseconds: number) => {
    sleeps.push(milliseconds);
  };

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect: 'sqlite', clock });
    ({ integration: { clientId }, clientSecret } = await lk.createIntegration({ grants: { 'environment-api': ALL } }));
    proxy = new FlakyProxy(lk.url);
    proxyUrl = await proxy.listen();
  });
  afterEach(() => {
    proxy.reset();
    sleeps.length = 0;
  });
  afterAll(async () => {
    proxy?.server.closeAllConnections();
    await new Promise((resolve) => proxy?.server.close(resolve));
    await lk?.close();
  });

  const client = (options: Partial<ConstructorParameters<typeof TokenClient>[0]> = {}) =>
    new TokenClient({ tokenUrl: `${proxyUrl}/oauth/token`, clientId, clientSecret, sleep, ...options });

  it('gets a token the Environment API accepts, with Basic and with client_secret_post', async () => {
    for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
      const tokens = client({ authMethod });
      const response = await tokens.getTokenResponse();
      expect(response).toMatchObject({ tokenType: 'Bearer', scope: ALL.join(' ') });
      expect(response.expiresIn).toBeGreaterThan(lk.config.tokenTtlSeconds - 10);
      expect(response.expiresIn).toBeLessThanOrEqual(lk.config.tokenTtlSeconds);
      expect(decodeJwt(response.accessToken)).toMatchObject({ client_id: clientId, environment: 'demo' });
      const api = createAuthorizedFetch(tokens);
      const templates = await api(`${lk.url}/api/v1/environments/demo/templates`);
      expect(templates.status).toBe(200);
      expect(await templates.json()).toEqual({ templates: [], nextCursor: null });
    }
  });

  it('keeps the token in memory and lets concurrent callers share one request', async () => {
    const tokens = client();
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.getToken()));
    expect(new Set(results).size).toBe(1);
    expect(await tokens.getToken()).toBe(results[0]);
    expect(proxy.seen).toBe(1);
  });

  it('asks for narrower scopes and an audience', async () => {
    const response = await client({ scope: ['media:read', 'fonts:read'], audience: lk.config.environmentApiAudience }).getTokenResponse();
    expect(response.scope).toBe('media:read fonts:read');
    expect(decodeJwt(response.accessToken).aud).toBe(lk.config.environmentApiAudience);
  });

  it('raises a typed error for a wrong secret, at once and without the secret in it', async () => {
    const wrong = `${clientSecret.slice(0, -4)}AAAA`;
    const error = await client({ clientSecret: wrong }).getToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ status: 401, error: 'invalid_client', code: 'ERR_TOKEN_REQUEST' });
    expect(String((error as Error).message)).not.toContain(wrong);
    expect(proxy.seen).toBe(1);
  });

  it('raises invalid_scope for a scope outside the grant', async () => {
    await expect(client({ scope: 'integrations:write' }).getToken()).rejects.toMatchObject({ status: 400, error: 'invalid_scope' });
  });

  it('retries a 503 with backoff and then succeeds', async () => {
    proxy.plan = [{ status: 503 }, { status: 503 }];
    const token = await client({ retryDelayMs: 100 }).getToken();
    expect(decodeJwt(token).client_id).toBe(clientId);
    expect(proxy.seen).toBe(3);
    expect(proxy.passed).toBe(1);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThan(100);
    expect(sleeps[1]).toBeLessThan(200);
  });

  it('waits as long as a 429 says in Retry-After, then succeeds', async () => {
    proxy.plan = [{ status: 429, retryAfter: '2' }];
    await client().getToken();
    expect(sleeps).toEqual([2000]);
    expect(proxy.seen).toBe(2);
  });

  it('gives up after its retries on a persistent 503, with a typed error', async () => {
    proxy.plan = Array.from({ length: 10 }, () => ({ status: 503 as const, body: '<html>Service Unavailable</html>' }));
    const error = await client({ retries: 3 }).getToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ status: 503, error: 'temporarily_unavailable' });
    expect(proxy.seen).toBe(4);
    expect(proxy.passed).toBe(0);
  });

  it('does not wait out a Retry-After longer than its limit: the caller gets it at once', async () => {
    proxy.plan = [{ status: 429, retryAfter: '120' }];
    const error = await client({ maxRetryDelayMs: 10_000 }).getToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 120 });
    expect(sleeps).toEqual([]);
    expect(proxy.seen).toBe(1);
  });

  it('raises TokenNetworkError when nothing listens', async () => {
    const port = await findFreePort();
    const error = await new TokenClient({ tokenUrl: `http://127.0.0.1:${port}/oauth/token`, clientId, clientSecret, sleep, retries: 2 }).getToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenNetworkError);
    expect((error as Error).message).toBe('token endpoint unreachable after 3 attempts');
  });

  it('fetches a fresh token once when the API answers 401 (authorized fetch)', async () => {
    const tokens = client();
    const first = await tokens.getToken();
    // Latchkey's clock moves past the token's expiry; the client, on its own clock, still trusts it.
    clock.advance((lk.config.tokenTtlSeconds + 60) * 1000);
    const api = createAuthorizedFetch(tokens);
    const response = await api(`${lk.url}/api/v1/environments/demo/templates`);
    expect(response.status).toBe(200);
    expect(await tokens.getToken()).not.toBe(first);
    expect(proxy.seen).toBe(2);
  });
});

/** Each CLI run starts a Node process and loads the compiled server: seconds on a busy machine. */
const SLOW = 120_000;

describe('latchkey token (CLI)', () => {
  let lk: TestLatchkey;
  let clientId: string;
  let clientSecret: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect: 'sqlite' });
    ({ integration: { clientId }, clientSecret } = await lk.createIntegration({ grants: { 'environment-api': ALL } }));
    env = { LATCHKEY_ISSUER: lk.url, LATCHKEY_CLIENT_ID: clientId, LATCHKEY_CLIENT_SECRET: clientSecret };
  });
  afterAll(async () => lk?.close());

  /** Runs the CLI with `input` on stdin (runCli gives children no stdin). */
  function runWithStdin(args: string[], childEnv: Record<string, string>, input: string): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [LATCHKEY_BIN, ...args], { cwd: REPO_ROOT, env: cliEnvironment(childEnv), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ args, code, signal, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  it('prints a token from the LATCHKEY_* variables', async () => {
    const result = await runCli(['token'], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeJwt(result.stdout.trim())).toMatchObject({ client_id: clientId, scope: ALL.join(' ') });
    expect(result.stderr).toBe('');
  }, SLOW);

  it('prints the whole response with --json, and narrows with --scope', async () => {
    const result = await runCli(['token', '--json', '--scope', 'media:read', '--scope', 'fonts:read'], env);
    expect(result.code, describeRun(result)).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'media:read fonts:read' });
  }, SLOW);

  it('takes flags and the secret on stdin instead of variables', async () => {
    const result = await runWithStdin(['token', '--token-url', `${lk.url}/oauth/token`, '--client-id', clientId, '--client-secret-stdin', '--auth-method', 'post', '--audience', lk.config.environmentApiAudience], {}, `${clientSecret}\n`);
    expect(result.code, describeRun(result)).toBe(0);
    expect(decodeJwt(result.stdout.trim()).client_id).toBe(clientId);
  }, SLOW);

  it('exits 2 with one line naming what is missing', async () => {
    const [missing, noUrl, badMethod] = await Promise.all([
      runCli(['token'], { LATCHKEY_ISSUER: lk.url, LATCHKEY_CLIENT_SECRET: clientSecret }),
      runCli(['token'], { LATCHKEY_CLIENT_ID: clientId, LATCHKEY_CLIENT_SECRET: clientSecret }),
      runCli(['token', '--auth-method', 'jwt'], env),
    ]);
    expect(missing.code, describeRun(missing)).toBe(2);
    expect(missing.stderr).toBe('latchkey: error: LATCHKEY_CLIENT_ID is not set (or pass --client-id)\n');
    expect(noUrl.code, describeRun(noUrl)).toBe(2);
    expect(noUrl.stderr).toBe('latchkey: error: LATCHKEY_TOKEN_URL (or LATCHKEY_ISSUER) is not set (or pass --token-url / --issuer)\n');
    expect(badMethod.code, describeRun(badMethod)).toBe(2);
    expect(badMethod.stderr).toBe("latchkey: error: --auth-method must be basic or post, got 'jwt'\n");
  }, SLOW);

  it('exits 1 with one line for a refused or unreachable request, never showing the secret', async () => {
    const wrong = `${clientSecret.slice(0, -4)}AAAA`;
    const refused = await runCli(['token'], { ...env, LATCHKEY_CLIENT_SECRET: wrong });
    expect(refused.code, describeRun(refused)).toBe(1);
    expect(refused.stderr).toMatch(/^latchkey: error: token request failed with HTTP 401 invalid_client.*\n$/);
    expect(refused.stdout + refused.stderr).not.toContain(wrong);
    const port = await findFreePort();
    const unreachable = await runCli(['token'], { ...env, LATCHKEY_ISSUER: `http://127.0.0.1:${port}` });
    expect(unreachable.code, describeRun(unreachable)).toBe(1);
    expect(unreachable.stderr).toMatch(/^latchkey: error: token endpoint unreachable after 3 attempts.*\n$/);
  }, SLOW);
});
