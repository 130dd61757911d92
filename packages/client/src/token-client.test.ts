import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTokenEndpoint } from '../test/support/fake-token-endpoint.ts';
import { TokenNetworkError, TokenRequestError, TokenResponseError } from './errors.ts';
import { basicAuthorization } from './form-encode.ts';
import { TokenClient } from './token-client.ts';
import type { TokenClientOptions } from './token-client.ts';

const SECRET = 'lk_sec_0123456789abcdefghijklmnopqrstuvwxyz';

let endpoint: FakeTokenEndpoint;
let clock: number;
let sleeps: number[];

beforeEach(async () => {
  endpoint = await FakeTokenEndpoint.start();
  clock = Date.UTC(2030, 0, 1);
  sleeps = [];
});
afterEach(async () => {
  await endpoint.close();
});

function makeClient(options: Partial<TokenClientOptions> = {}): TokenClient {
  return new TokenClient({
    tokenUrl: endpoint.tokenUrl,
    clientId: 'int_client',
    clientSecret: SECRET,
    now: () => clock,
    // Records the waits instead of sleeping: delays are asserted as numbers, never as wall-clock time.
    sleep: async (milliseconds) => {
      sleeps.push(milliseconds);
    },
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('TokenClient: the request (RFC 6749 §4.4, §2.3.1)', () => {
  it('sends client_secret_basic with id and secret form-urlencoded before base64 (known vector)', async () => {
    const client = makeClient({ clientId: '78366401571920522@amce', clientSecret: 'veryweaksecret!' });
    await client.getToken();
    const [request] = endpoint.tokenRequests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/oauth/token');
    expect(request?.headers.authorization).toBe('Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.body).toBe('grant_type=client_credentials');
  });

  it('sends audience and scope, and no credentials in the body, with basic', async () => {
    await makeClient({ audience: 'https://api.test/environment-api', scope: ['templates:read', 'media:read'] }).getToken();
    const body = new URLSearchParams(endpoint.tokenRequests[0]?.body);
    expect([...body.entries()]).toEqual([
      ['grant_type', 'client_credentials'],
      ['audience', 'https://api.test/environment-api'],
      ['scope', 'templates:read media:read'],
    ]);
  });

  it('sends client_id and client_secret in the body with client_secret_post, and no Authorization', async () => {
    const secret = 'a:b+c%d e!*';
    await makeClient({ authMethod: 'client_secret_post', clientSecret: secret, scope: 'templates:read' }).getToken();
    const request = endpoint.tokenRequests[0];
    expect(request?.headers.authorization).toBeUndefined();
    const body = new URLSearchParams(request?.body);
    expect(body.get('grant_type')).toBe('client_credentials');
    expect(body.get('client_id')).toBe('int_client');
    expect(body.get('client_secret')).toBe(secret);
    expect(body.get('scope')).toBe('templates:read');
  });

  it('round-trips any id and secret through client_secret_basic, including : + % and space', () => {
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), fc.string({ minLength: 1, unit: 'grapheme' }), (id, secret) => {
        const encoded = atob(basicAuthorization(id, secret).slice('Basic '.length));
        expect(encoded).toMatch(/^[A-Za-z0-9%+\-._~]*:[A-Za-z0-9%+\-._~]*$/);
        const [encodedId, encodedSecret] = encoded.split(':') as [string, string];
        expect([decode(encodedId), decode(encodedSecret)]).toEqual([id, secret]);
      }),
    );
  });
});

describe('TokenClient: caching', () => {
  it('returns the cached token without asking again', async () => {
    const client = makeClient();
    expect(await client.getToken()).toBe('tok_1');
    expect(await client.getToken()).toBe('tok_1');
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('lets 50 concurrent callers share one request (single-flight)', async () => {
    endpoint.delayMs = 30;
    const client = makeClient();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['tok_1']));
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('refreshes refreshAheadSeconds before expiry, honouring expires_in', async () => {
    const client = makeClient({ refreshAheadSeconds: 60 });
    expect(await client.getToken()).toBe('tok_1');
    clock += (3600 - 61) * 1000;
    expect(await client.getToken()).toBe('tok_1');
    clock += 2000;
    expect(await client.getToken()).toBe('tok_2');
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('refreshes a short-lived token at half its lifetime, not on every call', async () => {
    endpoint.expiresIn = 40;
    const client = makeClient({ refreshAheadSeconds: 60 });
    await client.getToken();
    clock += 19_000;
    expect(await client.getToken()).toBe('tok_1');
    clock += 2000;
    expect(await client.getToken()).toBe('tok_2');
  });

  it('counts expires_in down in getTokenResponse', async () => {
    const client = makeClient();
    const first = await client.getTokenResponse();
    expect(first).toMatchObject({ accessToken: 'tok_1', tokenType: 'Bearer', expiresIn: 3600, scope: 'templates:read' });
    expect(first.expiresAt).toBe(clock + 3600_000);
    expect(first.raw).toEqual({ access_token: 'tok_1', token_type: 'Bearer', expires_in: 3600, scope: 'templates:read' });
    clock += 100_500;
    expect((await client.getTokenResponse()).expiresIn).toBe(3499);
  });

  it('accepts expires_in as a numeric string, and does not cache a token without expires_in', async () => {
    endpoint.expiresIn = '120';
    const client = makeClient();
    expect((await client.getTokenResponse()).expiresIn).toBe(120);
    endpoint.expiresIn = undefined;
    const uncached = makeClient();
    await uncached.getToken();
    await uncached.getToken();
    expect(endpoint.tokenRequests).toHaveLength(3);
  });

  it('keeps using a still-valid token when the early refresh fails', async () => {
    const client = makeClient({ retries: 0 });
    await client.getToken();
    clock += 3590 * 1000;
    endpoint.replies.push({ status: 503, body: { error: 'temporarily_unavailable' } });
    expect(await client.getToken()).toBe('tok_1');
    expect(await client.getToken()).toBe('tok_2');
    clock += 3600 * 1000;
    endpoint.replies.push({ status: 503 });
    await expect(client.getToken()).rejects.toBeInstanceOf(TokenRequestError);
  });

  it('fetches a new token after invalidate(), and a request from before it does not refill the cache', async () => {
    endpoint.delayMs = 30;
    const client = makeClient();
    const before = client.getToken();
    client.invalidate();
    const after = client.getToken();
    expect(await before).toBe('tok_1');
    expect(await after).toBe('tok_2');
    expect(await client.getToken()).toBe('tok_2');
    client.invalidate();
    expect(await client.getToken()).toBe('tok_3');
  });
});

describe('TokenClient: retries', () => {
  it('retries a 503 with exponential backoff and full jitter', async () => {
    endpoint.replies.push({ status: 503 }, { status: 502 }, { status: 500, body: 'oops' });
    const client = makeClient({ retryDelayMs: 100, maxRetryDelayMs: 10_000 });
    expect(await client.getToken()).toBe('tok_1');
    expect(endpoint.tokenRequests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    sleeps.forEach((delay, attempt) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(100 * 2 ** attempt);
    });
  });

  it('honours Retry-After in seconds on a 429', async () => {
    endpoint.replies.push({ status: 429, headers: { 'retry-after': '2' }, body: { error: 'slow_down' } });
    expect(await makeClient().getToken()).toBe('tok_1');
    expect(sleeps).toEqual([2000]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    endpoint.replies.push({ status: 503, headers: { 'retry-after': new Date(clock + 3000).toUTCString() } });
    expect(await makeClient().getToken()).toBe('tok_1');
    expect(sleeps).toEqual([3000]);
  });

  it('raises at once when Retry-After asks for more than maxRetryDelayMs', async () => {
    endpoint.replies.push({
      status: 429,
      headers: { 'retry-after': '120' },
      body: { error: 'rate_limited', error_description: 'too many requests' },
    });
    const error = await failure(makeClient({ maxRetryDelayMs: 30_000 }).getToken());
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REQUEST', status: 429, error: 'rate_limited', retryAfterSeconds: 120 });
    expect(endpoint.tokenRequests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('gives up after `retries` retries with the last error', async () => {
    for (let i = 0; i < 4; i += 1) endpoint.replies.push({ status: 503, body: { error: 'temporarily_unavailable' } });
    const error = await failure(makeClient().getToken());
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REQUEST', status: 503, error: 'temporarily_unavailable' });
    expect(endpoint.tokenRequests).toHaveLength(4);
  });

  it('retries network errors, then raises TokenNetworkError', async () => {
    endpoint.replies.push('drop', 'drop');
    expect(await makeClient().getToken()).toBe('tok_1');
    expect(endpoint.tokenRequests).toHaveLength(3);

    endpoint.replies.push('drop', 'drop');
    const error = await failure(makeClient({ retries: 1 }).getToken());
    expect(error).toBeInstanceOf(TokenNetworkError);
    expect(error).toMatchObject({ code: 'ERR_TOKEN_NETWORK' });
    expect((error as Error).cause).toBeDefined();
  });

  it('times out a hanging attempt and retries it', async () => {
    endpoint.replies.push('hang');
    expect(await makeClient({ timeoutMs: 50 }).getToken()).toBe('tok_1');
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('retries nothing when unreachable with retries 0', async () => {
    const client = new TokenClient({ tokenUrl: 'http://127.0.0.1:9/oauth/token', clientId: 'a', clientSecret: 'b', retries: 0 });
    await expect(client.getToken()).rejects.toBeInstanceOf(TokenNetworkError);
  });
});

describe('TokenClient: errors', () => {
  it('raises a typed error for 400 invalid_scope without retrying', async () => {
    endpoint.replies.push({
      status: 400,
      body: { error: 'invalid_scope', error_description: 'templates:delete is not granted to this integration' },
    });
    const error = await failure(makeClient({ scope: 'templates:delete' }).getToken());
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({
      name: 'TokenRequestError',
      code: 'ERR_TOKEN_REQUEST',
      status: 400,
      error: 'invalid_scope',
      errorDescription: 'templates:delete is not granted to this integration',
    });
    expect((error as Error).message).toBe(
      'token request failed with HTTP 400 invalid_scope: templates:delete is not granted to this integration',
    );
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('never puts the secret in an error, even when the server echoes it', async () => {
    endpoint.replies.push({ status: 401, body: { error: 'invalid_client', error_description: `bad secret ${SECRET}` } });
    const error = (await failure(makeClient().getToken())) as TokenRequestError;
    expect(error.status).toBe(401);
    expect(error.errorDescription).toBe('bad secret [redacted]');
    expect(`${error.message} ${inspect(error)} ${JSON.stringify(error)}`).not.toContain(SECRET);
  });

  it('names a non-JSON error by its status', async () => {
    endpoint.replies.push({ status: 403, body: '<html>nope</html>' });
    expect(await failure(makeClient().getToken())).toMatchObject({ status: 403, error: 'invalid_request', errorDescription: undefined });
  });

  it.each([
    ['not JSON', '<html></html>'],
    ['no access_token', { token_type: 'Bearer', expires_in: 60 }],
    ['another token_type', { access_token: 'x', token_type: 'mac', expires_in: 60 }],
    ['a negative expires_in', { access_token: 'x', token_type: 'Bearer', expires_in: -1 }],
  ])('raises TokenResponseError for a 200 with %s', async (_name, body) => {
    endpoint.replies.push({ status: 200, body });
    const error = await failure(makeClient().getToken());
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error).toMatchObject({ code: 'ERR_TOKEN_RESPONSE' });
  });

  it('accepts token_type in any case (RFC 6749 §7.1)', async () => {
    endpoint.replies.push({ status: 200, body: { access_token: 'x', token_type: 'bearer', expires_in: 60 } });
    expect(await makeClient().getToken()).toBe('x');
  });

  it('keeps the secret out of inspect() and JSON', () => {
    const client = makeClient();
    expect(`${inspect(client, { depth: 5 })} ${JSON.stringify(client)}`).not.toContain(SECRET);
  });
});

describe('TokenClient: misuse', () => {
  it.each<[string, Partial<TokenClientOptions>]>([
    ['a relative tokenUrl', { tokenUrl: '/oauth/token' }],
    ['an empty clientId', { clientId: '' }],
    ['a missing clientSecret', { clientSecret: undefined as unknown as string }],
    ['the client ID passed as the secret', { clientSecret: 'int_client' }],
    ['an unknown authMethod', { authMethod: 'private_key_jwt' as never }],
    ['negative retries', { retries: -1 }],
    ['fractional retries', { retries: 1.5 }],
    ['a scope that is not a string', { scope: 5 as never }],
  ])('throws TypeError for %s', (_name, options) => {
    expect(() => makeClient(options)).toThrow(TypeError);
  });

  it('explains the client ID pasted as the secret', () => {
    expect(() => makeClient({ clientSecret: 'int_client' })).toThrow(/Client Secret, not the Client ID/);
  });
});

describe('TokenClient.fromEnv', () => {
  const env = {
    LATCHKEY_TOKEN_URL: '',
    LATCHKEY_CLIENT_ID: 'int_env',
    LATCHKEY_CLIENT_SECRET: SECRET,
    LATCHKEY_AUDIENCE: 'https://api.test/platform-api',
    LATCHKEY_SCOPE: 'audit:read',
  };

  it('reads the variables', async () => {
    const client = TokenClient.fromEnv({ ...env, LATCHKEY_TOKEN_URL: endpoint.tokenUrl }, { now: () => clock });
    expect(client).toMatchObject({ tokenUrl: endpoint.tokenUrl, clientId: 'int_env', audience: 'https://api.test/platform-api', scope: 'audit:read' });
    await client.getToken();
    expect(endpoint.tokenRequests[0]?.headers.authorization).toBe(basicAuthorization('int_env', SECRET));
    expect(endpoint.tokenRequests[0]?.body).toBe('grant_type=client_credentials&audience=https%3A%2F%2Fapi.test%2Fplatform-api&scope=audit%3Aread');
  });

  it('derives the token URL from LATCHKEY_ISSUER', () => {
    const client = TokenClient.fromEnv({ ...env, LATCHKEY_ISSUER: 'https://latchkey.test/' });
    expect(client.tokenUrl).toBe('https://latchkey.test/oauth/token');
  });

  it('lets overrides win', () => {
    const client = TokenClient.fromEnv({ ...env, LATCHKEY_ISSUER: 'https://latchkey.test' }, { scope: 'media:read', clientId: 'int_flag' });
    expect(client).toMatchObject({ scope: 'media:read', clientId: 'int_flag', audience: 'https://api.test/platform-api' });
  });

  it('reads process.env by default', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { ...env, LATCHKEY_ISSUER: 'https://from-process.test' });
      expect(TokenClient.fromEnv().tokenUrl).toBe('https://from-process.test/oauth/token');
    } finally {
      for (const name of Object.keys(env).concat('LATCHKEY_ISSUER')) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });

  it.each([
    ['LATCHKEY_TOKEN_URL (or LATCHKEY_ISSUER)', { LATCHKEY_TOKEN_URL: undefined }],
    ['LATCHKEY_CLIENT_ID', { LATCHKEY_ISSUER: 'https://latchkey.test', LATCHKEY_CLIENT_ID: '' }],
    ['LATCHKEY_CLIENT_SECRET', { LATCHKEY_ISSUER: 'https://latchkey.test', LATCHKEY_CLIENT_SECRET: undefined }],
  ])('throws a TypeError naming %s when it is missing', (name, changes) => {
    expect(() => TokenClient.fromEnv({ ...env, ...changes })).toThrowError(new TypeError(`${name} is not set`));
  });

  it('never names the secret value in its errors', () => {
    try {
      TokenClient.fromEnv({ LATCHKEY_CLIENT_SECRET: SECRET });
    } catch (error) {
      expect(String(error)).not.toContain(SECRET);
    }
  });
});

describe('TokenClient#exchangeForBrowserToken (RFC 8693)', () => {
  const PROOF = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJQT1NUIn0.c2lnbmF0dXJl';
  const exchanges = (): URLSearchParams[] =>
    endpoint.tokenRequests.map((request) => new URLSearchParams(request.body)).filter((form) => form.get('grant_type') !== 'client_credentials');

  it("exchanges the client's own cached token, passing the DPoP proof through unchanged", async () => {
    const client = makeClient({ audience: 'https://api.test/environment-api' });
    const result = await client.exchangeForBrowserToken({ scope: ['fonts:read', 'media:read'], dpopProof: PROOF });
    expect(result).toEqual({ accessToken: 'btok_2', tokenType: 'DPoP', expiresIn: 900, scope: 'fonts:read media:read' });
    const [credentials, exchange] = endpoint.tokenRequests;
    expect(new URLSearchParams(credentials?.body).get('grant_type')).toBe('client_credentials');
    expect(exchange?.headers.authorization).toBe(basicAuthorization('int_client', SECRET));
    expect(exchange?.headers.dpop).toBe(PROOF);
    expect([...new URLSearchParams(exchange?.body).entries()]).toEqual([
      ['grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      ['subject_token', 'tok_1'],
      ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
      ['requested_token_type', 'urn:ietf:params:oauth:token-type:access_token'],
      ['audience', 'https://api.test/environment-api'],
      ['scope', 'fonts:read media:read'],
    ]);
  });

  it('reuses the cached subject token for every exchange, and sends no DPoP header without a proof', async () => {
    const client = makeClient({ authMethod: 'client_secret_post' });
    await client.getToken();
    const first = await client.exchangeForBrowserToken();
    await client.exchangeForBrowserToken();
    expect(first.tokenType).toBe('Bearer');
    expect(endpoint.tokenRequests).toHaveLength(3);
    expect(exchanges().map((form) => [form.get('subject_token'), form.get('client_id'), form.get('client_secret'), form.has('scope')])).toEqual([
      ['tok_1', 'int_client', SECRET, false],
      ['tok_1', 'int_client', SECRET, false],
    ]);
    expect(endpoint.tokenRequests[1]?.headers.dpop).toBeUndefined();
  });

  it("raises Latchkey's refusal as TokenRequestError (invalid_scope for a write scope)", async () => {
    const client = makeClient();
    await client.getToken();
    endpoint.replies.push({ status: 400, body: { error: 'invalid_scope', error_description: 'browser tokens carry read scopes only: fonts:write' } });
    const error = await failure(client.exchangeForBrowserToken({ scope: 'fonts:write', dpopProof: PROOF }));
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ status: 400, error: 'invalid_scope', errorDescription: 'browser tokens carry read scopes only: fonts:write' });
  });

  it('sends an exchange with a proof once (a proof is single-use), and retries one without', async () => {
    const client = makeClient();
    await client.getToken();
    endpoint.replies.push({ status: 503 }, { status: 503 });
    expect(await failure(client.exchangeForBrowserToken({ dpopProof: PROOF }))).toMatchObject({ status: 503 });
    expect(exchanges()).toHaveLength(1);
    await client.exchangeForBrowserToken();
    expect(exchanges()).toHaveLength(3);
    expect(sleeps).toHaveLength(1);
  });

  it('drops a subject token Latchkey refuses (invalid_grant): repeats once with a new one, or, with a proof, on the next call', async () => {
    const client = makeClient();
    await client.getToken(); // tok_1
    endpoint.replies.push({ status: 400, body: { error: 'invalid_grant', error_description: 'the subject token was revoked' } });
    expect((await client.exchangeForBrowserToken()).tokenType).toBe('Bearer');
    expect(exchanges().map((form) => form.get('subject_token'))).toEqual(['tok_1', 'tok_2']);

    endpoint.replies.push({ status: 400, body: { error: 'invalid_grant', error_description: 'the subject token was revoked' } });
    expect(await failure(client.exchangeForBrowserToken({ dpopProof: PROOF }))).toMatchObject({ error: 'invalid_grant' });
    await client.exchangeForBrowserToken({ dpopProof: PROOF });
    expect(exchanges().map((form) => form.get('subject_token'))).toEqual(['tok_1', 'tok_2', 'tok_2', 'tok_4']);
  });

  it('gives up after one repeat when the new subject token is refused too', async () => {
    const client = makeClient();
    const refusal = { status: 400, body: { error: 'invalid_grant' } };
    endpoint.replies.push({ status: 200, body: { access_token: 'tok_a', token_type: 'Bearer', expires_in: 3600 } }, refusal, { status: 200, body: { access_token: 'tok_b', token_type: 'Bearer', expires_in: 3600 } }, refusal);
    expect(await failure(client.exchangeForBrowserToken())).toMatchObject({ error: 'invalid_grant' });
    expect(endpoint.tokenRequests).toHaveLength(4);
  });

  it('keeps the subject token and the secret out of error messages, even when echoed', async () => {
    const client = makeClient();
    await client.getToken();
    endpoint.replies.push({ status: 400, body: { error: 'invalid_grant', error_description: `bad subject_token tok_1 for ${SECRET}` } });
    const error = await failure(client.exchangeForBrowserToken({ dpopProof: PROOF }));
    expect(String((error as Error).message)).not.toContain('tok_1');
    expect(String((error as Error).message)).not.toContain(SECRET);
  });

  it.each([
    ['an unknown token_type', { access_token: 'b', token_type: 'N_A', expires_in: 900 }, /neither DPoP nor Bearer/],
    ['another issued_token_type', { access_token: 'b', token_type: 'DPoP', expires_in: 900, issued_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, /issued_token_type/],
    ['no access_token', { token_type: 'DPoP', expires_in: 900 }, /no access_token/],
    ['a bad expires_in', { access_token: 'b', token_type: 'DPoP', expires_in: 'soon' }, /expires_in/],
  ])('refuses a 200 with %s as TokenResponseError', async (_, body, message) => {
    const client = makeClient();
    await client.getToken();
    endpoint.replies.push({ status: 200, body });
    const error = await failure(client.exchangeForBrowserToken());
    expect(error).toBeInstanceOf(TokenResponseError);
    expect((error as Error).message).toMatch(message);
  });

  it.each([['two proofs', `${PROOF}, ${PROOF}`], ['not a JWT', 'abc.def'], ['a header injection', `${PROOF}\r\nx-evil: 1`], ['not a string', 42]])(
    'refuses a dpopProof that is %s with a TypeError, before any request',
    async (_, dpopProof) => {
      await expect(makeClient().exchangeForBrowserToken({ dpopProof: dpopProof as string })).rejects.toThrow(TypeError);
      expect(endpoint.tokenRequests).toHaveLength(0);
    },
  );
});
