// Bad input and brute force at POST /oauth/token (issue 2, point 7; design §4; checklist 1-5, 10, 14, 15):
// targeted cases over real HTTP, each answered with a token or an RFC 6749 §5.2 error with
// `Cache-Control: no-store`, and the failed-authentication limits. The generated requests (thousands
// of them, over the token endpoint and both APIs) are in fuzz.property.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { BODY_LIMIT, DESCRIPTION, FUZZ_ENV, linesLeaking, send, tokenContractViolation, type RawRequest, type RawResponse } from './support/fuzz.ts';
import { generateClientSecret } from '../packages/server/src/platform/secrets.ts';

describe.each(DIALECTS)('POST /oauth/token under bad input (%s)', (dialect) => {
  let lk: TestLatchkey;
  let base: URL;
  let full: { clientId: string; secret: string };

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect, env: FUZZ_ENV });
    base = new URL(lk.url);
    const all = await lk.createIntegration({ name: 'bad input: all scopes' });
    full = { clientId: all.integration.clientId, secret: all.clientSecret };
  });
  afterAll(async () => lk?.close());

  describe('targeted cases', () => {
    const post = (body: string | Buffer, contentType: string | undefined, path = '/oauth/token', headers: Record<string, string> = {}) =>
      send(base, { method: 'POST', path, headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...headers }, body: Buffer.from(body), chunked: false });
    const form = (params: [string, string][]) => new URLSearchParams(params).toString();
    const valid = (): [string, string][] => [
      ['grant_type', 'client_credentials'],
      ['client_id', full.clientId],
      ['client_secret', full.secret],
    ];
    const expectError = (response: RawResponse, status: number, error: string, request?: RawRequest) => {
      expect(response.status, response.text).toBe(status);
      expect(JSON.parse(response.text)).toMatchObject({ error });
      if (request) expect(tokenContractViolation(request, response)).toBeNull();
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.text).not.toContain('access_token');
    };

    it('a body up to 16 KiB is read; one byte more gets 413 with a JSON error, for form and JSON bodies', async () => {
      const padded = (size: number) => {
        const prefix = `${form(valid())}&padding=`;
        return prefix + 'x'.repeat(size - prefix.length);
      };
      const atLimit = await post(padded(BODY_LIMIT), 'application/x-www-form-urlencoded');
      expect(atLimit.status, atLimit.text).toBe(200);
      const over = await post(padded(BODY_LIMIT + 1), 'application/x-www-form-urlencoded');
      expectError(over, 413, 'invalid_request');
      const json = await post(JSON.stringify({ grant_type: 'client_credentials', padding: 'x'.repeat(BODY_LIMIT) }), 'application/json; charset=utf-8');
      expectError(json, 413, 'invalid_request');
      const chunked = await send(base, { method: 'POST', path: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(padded(BODY_LIMIT * 4)), chunked: true });
      expectError(chunked, 413, 'invalid_request');
      expect(JSON.parse(over.text).error_description).toMatch(DESCRIPTION);
    });

    it('a duplicated grant_type (or any parameter) is 400 invalid_request, even with valid credentials', async () => {
      expectError(await post(form([...valid(), ['grant_type', 'client_credentials']]), 'application/x-www-form-urlencoded'), 400, 'invalid_request');
      expectError(await post(form([...valid(), ['client_secret', full.secret]]), 'application/x-www-form-urlencoded'), 400, 'invalid_request');
      expectError(await post(form([...valid(), ['scope', 'templates:read'], ['scope', 'templates:read']]), 'application/x-www-form-urlencoded'), 400, 'invalid_request');
    });

    // Regression (was a bug, fixed): JSON.parse keeps the last of repeated keys, so a JSON body with a repeated
    // parameter is accepted (here: a wrong secret, then the right one → 200). Design §4 and checklist 4
    // say a repeated parameter is 400 invalid_request whatever the body type. Drop `.fails` once fixed.
    it('a parameter repeated in a JSON body is 400 invalid_request', async () => {
      const id = JSON.stringify(full.clientId);
      const secret = JSON.stringify(full.secret);
      for (const text of [
        `{"grant_type":"client_credentials","client_id":${id},"client_secret":"wrong","client_secret":${secret}}`,
        `{"grant_type":"password","grant_type":"client_credentials","client_id":${id},"client_secret":${secret}}`,
        `{"grant_type":"client_credentials","client_id":${id},"client_secret":${secret},"scope":"templates:write","scope":"templates:read"}`,
      ]) {
        expectError(await post(text, 'application/json'), 400, 'invalid_request');
      }
    });

    it('non-string JSON values are 400 invalid_request; invalid JSON is 400 invalid_request', async () => {
      for (const clientId of [42, true, [full.clientId], { id: full.clientId }]) {
        const body = JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: full.secret });
        expectError(await post(body, 'application/json'), 400, 'invalid_request');
      }
      for (const text of ['{', '{"grant_type":', "{'grant_type':'client_credentials'}", '', 'grant_type=client_credentials', '\u0000', '{"a":"\ud800"']) {
        expectError(await post(text, 'application/json'), 400, 'invalid_request');
      }
      for (const text of ['[]', '"client_credentials"', '42', 'null']) expectError(await post(text, 'application/json'), 400, 'invalid_request');
      // Lone surrogates and NULs (JSON escapes survive JSON.parse as they are; raw bytes that are not UTF-8 in a form body).
      const lone = await post('{"grant_type":"client_credentials","client_id":"\\ud800","client_secret":"\\udfff\\u0000x"}', 'application/json');
      expectError(lone, 401, 'invalid_client');
      const loneScope = await post(`{"grant_type":"client_credentials","client_id":${JSON.stringify(full.clientId)},"client_secret":${JSON.stringify(full.secret)},"scope":"\\ud800 \\u0000"}`, 'application/json');
      expectError(loneScope, 400, 'invalid_scope');
      expect(JSON.parse(loneScope.text).error_description).toMatch(DESCRIPTION);
      const rawBytes = Buffer.concat([Buffer.from(`${form(valid())}&scope=`), Buffer.from([0xed, 0xa0, 0x80, 0xff, 0x00])]);
      expectError(await post(rawBytes, 'application/x-www-form-urlencoded'), 400, 'invalid_scope');
      // null counts as absent, like an empty string.
      const withNull = await post(JSON.stringify({ grant_type: 'client_credentials', client_id: full.clientId, client_secret: full.secret, scope: null }), 'application/json');
      expect(withNull.status, withNull.text).toBe(200);
    });

    it('unknown JSON parameters are ignored whatever their value; one nested past 64 levels is 400 invalid_request', async () => {
      const base = Object.fromEntries(valid());
      for (const extra of [5, true, [1, 2], { nested: { deeper: [] } }, 1.5]) {
        const response = await post(JSON.stringify({ ...base, extra }), 'application/json');
        expect(response.status, response.text).toBe(200);
      }
      const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
      expect((await post(`${JSON.stringify(base).slice(0, -1)},"extra":${deep(63)}}`, 'application/json')).status).toBe(200);
      const tooDeep = await post(`${JSON.stringify(base).slice(0, -1)},"extra":${deep(5000)}}`, 'application/json');
      expectError(tooDeep, 400, 'invalid_request');
      expect(JSON.parse(tooDeep.text).error_description).toMatch(/nested more than 64 levels/);
    });

    it('text/plain, multipart and no content type are 400 invalid_request, even with a valid body', async () => {
      for (const type of ['text/plain', 'text/plain; charset=utf-8', 'multipart/form-data; boundary=x', 'application/xml', undefined]) {
        expectError(await post(form(valid()), type), 400, 'invalid_request');
      }
      // Charset parameters on the supported types are fine.
      expect((await post(form(valid()), 'application/x-www-form-urlencoded; charset=UTF-8')).status).toBe(200);
      expect((await post(JSON.stringify(Object.fromEntries(valid())), 'application/json;charset="utf-8"')).status).toBe(200);
    });

    it('GET (and other methods) on /oauth/token is 405 and never issues a token', async () => {
      const query = `?${form(valid())}`;
      for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
        const request: RawRequest = { method, path: `/oauth/token${query}`, headers: {}, body: undefined, chunked: false };
        const response = await send(base, request);
        expectError(response, 405, 'invalid_request', request);
        expect(response.headers.allow).toBe('POST');
      }
      const withBody: RawRequest = { method: 'GET', path: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form(valid())), chunked: false };
      expectError(await send(base, withBody), 405, 'invalid_request', withBody);
    });

    it('client_secret or client_id in the query string is 400 invalid_request, even with valid body credentials', async () => {
      for (const query of [`?client_secret=${encodeURIComponent(full.secret)}`, `?client_id=${full.clientId}`, '?client_secret=', `?client_id=${full.clientId}&client_secret=${encodeURIComponent(full.secret)}`]) {
        expectError(await post(form(valid()), 'application/x-www-form-urlencoded', `/oauth/token${query}`), 400, 'invalid_request');
      }
      // Other query parameters are ignored.
      expect((await post(form(valid()), 'application/x-www-form-urlencoded', '/oauth/token?foo=bar')).status).toBe(200);
    });

    it('badly encoded Basic headers are 400 invalid_request; Basic plus a body secret is 400', async () => {
      for (const authorization of ['Basic !!!', 'Basic Og==', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from('a%zz:b').toString('base64')}`, 'Bearer abc']) {
        expectError(await post(form([['grant_type', 'client_credentials']]), 'application/x-www-form-urlencoded', '/oauth/token', { authorization }), 400, 'invalid_request');
      }
      const both = await post(form([['grant_type', 'client_credentials'], ['client_secret', full.secret]]), 'application/x-www-form-urlencoded', '/oauth/token', {
        authorization: basicAuthorization(full.clientId, full.secret),
      });
      expectError(both, 400, 'invalid_request');
    });

    it('headers over 16 KiB are refused by the HTTP layer with 431, never a 5xx or a token', async () => {
      const response = await post(form(valid()), 'application/x-www-form-urlencoded', '/oauth/token', { authorization: `Basic ${'A'.repeat(20_000)}` });
      expect(response.status).toBe(431);
      expect(response.text).not.toContain('access_token');
    });

    it('client_secret equal to client_id gets 401 invalid_client saying so (the seed samples make that mistake)', async () => {
      const response = await post(form([['grant_type', 'client_credentials'], ['client_id', full.clientId], ['client_secret', full.clientId]]), 'application/x-www-form-urlencoded');
      expectError(response, 401, 'invalid_client');
      expect(JSON.parse(response.text).error_description).toMatch(/client_secret is the same as client_id/);
    });

    it('a Latchkey-looking secret cut short or with a changed character gets 401 saying it looks truncated or mistyped; a well-formed wrong one does not', async () => {
      const secret = full.secret;
      const changed = `${secret.slice(0, 10)}${secret[10] === 'A' ? 'B' : 'A'}${secret.slice(11)}`;
      for (const broken of [secret.slice(0, -1), secret.slice(0, 30), changed, `${secret}x`]) {
        const response = await post(form([['grant_type', 'client_credentials'], ['client_id', full.clientId], ['client_secret', broken]]), 'application/x-www-form-urlencoded');
        expectError(response, 401, 'invalid_client');
        const description = JSON.parse(response.text).error_description as string;
        expect(description).toMatch(/client_secret looks truncated or mistyped/);
        expect(description).not.toContain(broken);
      }
      // Another well-formed secret (valid checksum) is simply wrong: the generic answer, which says nothing of the client.
      const wellFormedWrong = generateClientSecret();
      const response = await post(form([['grant_type', 'client_credentials'], ['client_id', full.clientId], ['client_secret', wellFormedWrong]]), 'application/x-www-form-urlencoded');
      expectError(response, 401, 'invalid_client');
      expect(JSON.parse(response.text).error_description).toMatch(/^client authentication failed/);
    });
  });
});

describe('failed client authentication is rate-limited (429 + Retry-After)', () => {
  const wrongSecret = 'lks_' + 'x'.repeat(49);

  async function tokenRequest(lk: TestLatchkey, clientId: string, secret: string) {
    const res = await lk.postToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
  }

  function expectLimited(response: Awaited<ReturnType<typeof tokenRequest>>, who: RegExp) {
    expect(response.status, JSON.stringify(response.body)).toBe(429);
    const retryAfter = response.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(['error', 'error_description']);
    expect(response.body.error).toBe('temporarily_unavailable');
    expect(response.body.error_description).toMatch(DESCRIPTION);
    expect(response.body.error_description).toMatch(who);
  }

  const ATTACKER = '203.0.113.66';
  const CLIENT_HOST = '198.51.100.7';
  /** A token request as if from `address` (the server trusts X-Forwarded-For from loopback here). */
  async function tokenFrom(lk: TestLatchkey, address: string, clientId: string, secret: string) {
    const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, secret), 'x-forwarded-for': address });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
  }

  it('per client ID and address: an attacker elsewhere cannot lock out a client that presents its right secret', async () => {
    const clock = createManualClock(Date.now());
    const lk = await startTestLatchkey({
      dialect: 'sqlite',
      clock,
      env: { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '3', LATCHKEY_AUTH_FAILURES_PER_IP: '1000', LATCHKEY_AUTH_FAILURE_WINDOW: '60' },
    });
    try {
      const a = await lk.createIntegration({ name: 'client A' });
      const b = await lk.createIntegration({ name: 'client B' });
      // Client IDs are public: the attacker sends wrong secrets for A.
      for (let i = 0; i < 3; i++) {
        const response = await tokenFrom(lk, ATTACKER, a.integration.clientId, wrongSecret);
        expect(response.status).toBe(401);
        expect(response.body.error).toBe('invalid_client');
      }
      expectLimited(await tokenFrom(lk, ATTACKER, a.integration.clientId, wrongSecret), /client_id from this address/);
      // A, from its own address, gets its token; its own wrong secrets are counted apart from the attacker's.
      expect((await tokenFrom(lk, CLIENT_HOST, a.integration.clientId, a.clientSecret)).status).toBe(200);
      expect((await tokenFrom(lk, CLIENT_HOST, a.integration.clientId, wrongSecret)).status).toBe(401);
      expect((await tokenFrom(lk, CLIENT_HOST, a.integration.clientId, a.clientSecret)).status).toBe(200);
      // Even from the attacker's address, the right secret of a client the server holds in memory
      // still gets its token (a NAT or proxy shared with the attacker does not lock A out) …
      expect((await tokenFrom(lk, ATTACKER, a.integration.clientId, a.clientSecret)).status).toBe(200);
      // … while wrong secrets stay throttled, and other clients from that address are unaffected.
      expectLimited(await tokenFrom(lk, ATTACKER, a.integration.clientId, `${a.clientSecret.slice(0, -1)}x`), /client_id/);
      expect((await tokenFrom(lk, ATTACKER, b.integration.clientId, b.clientSecret)).status).toBe(200);

      // Unknown client IDs are limited exactly like known ones (nothing tells them apart).
      const unknown = 'lkc_0000000000000000000000';
      for (let i = 0; i < 3; i++) expect((await tokenFrom(lk, ATTACKER, unknown, wrongSecret)).status).toBe(401);
      expectLimited(await tokenFrom(lk, ATTACKER, unknown, wrongSecret), /client_id/);

      // When the window has passed, the attacker's count is gone too.
      clock.advance(61_000);
      expect((await tokenFrom(lk, ATTACKER, a.integration.clientId, wrongSecret)).status).toBe(401);
      expect(linesLeaking(lk.logs, [a.clientSecret, b.clientSecret, wrongSecret])).toEqual([]);
    } finally {
      await lk.close();
    }
  });

  it('per address: after enough failures from one address its wrong secrets get 429; a client not yet in memory waits too', async () => {
    const lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000', LATCHKEY_AUTH_FAILURES_PER_IP: '5' } });
    try {
      const b = await lk.createIntegration({ name: 'client B' });
      const c = await lk.createIntegration({ name: 'client C' });
      expect((await tokenRequest(lk, b.integration.clientId, b.clientSecret)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await tokenRequest(lk, `lkc_${String(i).padStart(22, '0')}`, wrongSecret)).status).toBe(401);
      expectLimited(await tokenRequest(lk, `lkc_${'9'.repeat(22)}`, wrongSecret), /address/);
      expectLimited(await tokenRequest(lk, b.integration.clientId, wrongSecret), /address/);
      // B, already working, keeps getting its token; C has never been seen, and a throttled request
      // reads nothing from the database, so C waits for the window like everyone else there.
      expect((await tokenRequest(lk, b.integration.clientId, b.clientSecret)).status).toBe(200);
      expectLimited(await tokenRequest(lk, c.integration.clientId, c.clientSecret), /address/);
    } finally {
      await lk.close();
    }
  });
});
