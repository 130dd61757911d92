// The protocol checklist (../shared/rfc-checklist.md), one test per statement, named by its number,
// against a live server over real HTTP on both dialects. Requests come "from" addresses of their own
// (the server trusts X-Forwarded-For from loopback here, checklist 11), so the failed-authentication
// limits one statement provokes never leak into another.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, documentedOperations, signIn, type SessionClient } from './support/platform-client.ts';
import type { IntegrationWithSecret } from '../packages/server/src/platform/integrations.ts';
import { CLIENT_SECRET_PATTERN, isWellFormedClientSecret } from '../packages/server/src/platform/secrets.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;
const READ_ONLY = ALL.filter((scope) => scope.endsWith(':read'));
const PER_CLIENT = 5;
const PER_IP = 30;
const WINDOW_SECONDS = 60;
const FORM = 'application/x-www-form-urlencoded';
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An answer as received. */
interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/**
 * Sends one request on its own connection. Headers are a list, so a header can be repeated, and any
 * method goes (fetch refuses TRACE).
 */
function send(url: string, method: string, path: string, headers: [string, string][] = [], body?: string | Buffer): Promise<Answer> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    // A header given twice becomes an array, which Node sends as two header lines.
    const fields: Record<string, string | string[]> = {};
    for (const [name, value] of headers) {
      const before = fields[name];
      fields[name] = before === undefined ? value : [before, value].flat();
    }
    if (body !== undefined) fields['content-length'] = String(Buffer.byteLength(body));
    const request = http.request({ host: base.hostname, port: base.port, method, path, headers: fields, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    // The server may answer (413) and close before the whole body is written.
    request.on('error', reject);
    request.end(body);
  });
}

let addressCount = 0;
/** A source address no other request of this run uses. */
const freshAddress = () => `198.51.${100 + Math.floor(addressCount / 250)}.${(addressCount++ % 250) + 1}`;

/** Asserts an RFC 6749 §5.2 error answer: status, code, JSON, no-store, a description in the RFC's character set. */
function expectOAuthError(answer: Answer, status: number, error: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(Object.keys(answer.json).sort()).toEqual(['error', 'error_description']);
  expect(answer.json.error).toBe(error);
  expect(answer.json.error_description).toMatch(DESCRIPTION);
  expect(answer.text).not.toContain('access_token');
}

describe.each(DIALECTS)('protocol checklist (%s)', (dialect) => {
  const clock = createManualClock(Date.now());
  let lk: TestLatchkey;
  let admin: SessionClient;
  let full: IntegrationWithSecret;
  /** Every secret and token this run saw, for the check that none is ever at rest or logged in clear. */
  const secrets = new Set<string>();

  beforeAll(async () => {
    lk = await startTestLatchkey({
      dialect,
      clock,
      recordQueries: true,
      env: {
        LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
        LATCHKEY_AUTH_FAILURES_PER_CLIENT: String(PER_CLIENT),
        LATCHKEY_AUTH_FAILURES_PER_IP: String(PER_IP),
        LATCHKEY_AUTH_FAILURE_WINDOW: String(WINDOW_SECONDS),
      },
    });
    admin = await adminSession(lk, 'checklist@example.com', { platformAdmin: true });
    full = await integration('checklist: all scopes', { 'environment-api': ALL });
  });
  afterAll(async () => lk?.close());

  /** A new integration of `environmentId` ('demo' unless given); its secret is remembered for the leak check. */
  async function integration(name: string, grants: Record<string, string[]>, environmentId = 'demo'): Promise<IntegrationWithSecret> {
    const created = await lk.createIntegration({ name, grants, environmentId });
    secrets.add(created.clientSecret);
    return created;
  }

  /** A token request with a form body, from `from` (a fresh address unless given). */
  function tokenRequest(params: Record<string, string>, options: { authorization?: string; from?: string; headers?: [string, string][] } = {}): Promise<Answer> {
    const headers: [string, string][] = [['content-type', FORM], ['x-forwarded-for', options.from ?? freshAddress()], ...(options.headers ?? [])];
    if (options.authorization !== undefined) headers.push(['authorization', options.authorization]);
    return send(lk.url, 'POST', '/oauth/token', headers, new URLSearchParams(params).toString());
  }
  const basic = (integration: IntegrationWithSecret) => basicAuthorization(integration.integration.clientId, integration.clientSecret);

  /** A token for `of`, which must be issued. */
  async function tokenOf(of: IntegrationWithSecret, params: Record<string, string> = {}, from?: string): Promise<{ token: string; body: any; answer: Answer }> {
    const answer = await tokenRequest({ grant_type: 'client_credentials', ...params }, { authorization: basic(of), from });
    expect(answer.status, answer.text).toBe(200);
    secrets.add(answer.json.access_token);
    return { token: answer.json.access_token, body: answer.json, answer };
  }

  /** A request to the Environment API, Latchkey's own resource server (built on @latchkey/resource). */
  const environmentApi = (method: string, path: string, token?: string) => send(lk.url, method, path, token === undefined ? [] : [['authorization', `Bearer ${token}`]]);

  const jwks = async () => JSON.parse((await send(lk.url, 'GET', '/.well-known/jwks.json')).text) as JSONWebKeySet;
  const verify = async (token: string, audience = lk.config.environmentApiAudience) =>
    jwtVerify(token, createLocalJWKSet(await jwks()), { issuer: lk.config.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'], currentDate: new Date(clock.now()) });

  /** A token signed with Latchkey's own signing key, header and claims changed as given: what an attacker who could sign would try. */
  async function forge(header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
    const signer = lk.server.runtime.keyStore.signer(clock.now());
    const now = Math.floor(clock.now() / 1000);
    return new SignJWT({ iss: lk.config.issuer, aud: lk.config.environmentApiAudience, sub: full.integration.clientId, client_id: full.integration.clientId, iat: now, exp: now + 600, jti: `forged-${now}`, scope: ALL.join(' '), environment: 'demo', ...claims })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', ...header } as { alg: string })
      .sign(signer.privateKey);
  }

  /**
   * The token.issue audit entries of this run that match, as the Platform API shows them. Token
   * entries are written in batches (every 2 s), so this polls for up to 5 s until `count` match.
   */
  async function auditEntries(match: (entry: any) => boolean, count = 1): Promise<any[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const page = await admin.request('GET', '/api/v1/audit?action=token.issue&limit=200');
      expect(page.status).toBe(200);
      const found = (page.body.entries as any[]).filter(match);
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  // Token request (RFC 6749 §2.3, §3.2, §4.4)

  it('#1 only POST /oauth/token issues a token: every other method gets 405 with Allow: POST', async () => {
    const query = `?${new URLSearchParams({ grant_type: 'client_credentials' })}`;
    for (const method of ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
      const answer = await send(lk.url, method, `/oauth/token${query}`, [['authorization', basic(full)]]);
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow, method).toBe('POST');
      expect(answer.headers['cache-control'], method).toBe('no-store');
      if (method !== 'HEAD') expectOAuthError(answer, 405, 'invalid_request');
    }
    expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(full) })).status).toBe(200);
  });

  it('#2 form-urlencoded and JSON bodies are accepted; any other content type is 400 invalid_request', async () => {
    const params = { grant_type: 'client_credentials', client_id: full.integration.clientId, client_secret: full.clientSecret };
    const post = (type: string | undefined, body: string) => send(lk.url, 'POST', '/oauth/token', [['x-forwarded-for', freshAddress()], ...(type === undefined ? [] : [['content-type', type] as [string, string]])], body);
    expect((await post(`${FORM}; charset=UTF-8`, new URLSearchParams(params).toString())).status).toBe(200);
    expect((await post('application/json', JSON.stringify(params))).status).toBe(200);
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'application/jwt', undefined]) {
      expectOAuthError(await post(type, new URLSearchParams(params).toString()), 400, 'invalid_request');
    }
  });

  it('#3 client_id or client_secret in the query string is 400 invalid_request, even with valid credentials in the body', async () => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: full.integration.clientId, client_secret: full.clientSecret }).toString();
    for (const query of [`client_id=${full.integration.clientId}`, `client_secret=${encodeURIComponent(full.clientSecret)}`, 'client_secret=']) {
      const answer = await send(lk.url, 'POST', `/oauth/token?${query}`, [['content-type', FORM], ['x-forwarded-for', freshAddress()]], body);
      expectOAuthError(answer, 400, 'invalid_request');
      expect(answer.json.error_description).toMatch(/must not be sent in the URL/);
    }
    expect((await send(lk.url, 'POST', '/oauth/token?unrelated=1', [['content-type', FORM], ['x-forwarded-for', freshAddress()]], body)).status).toBe(200);
  });

  it('#4 a repeated parameter is 400 invalid_request; an empty value counts as absent; unknown parameters are ignored, in forms and JSON', async () => {
    const credentials = { client_id: full.integration.clientId, client_secret: full.clientSecret };
    const form = (list: [string, string][]) => send(lk.url, 'POST', '/oauth/token', [['content-type', FORM], ['x-forwarded-for', freshAddress()]], new URLSearchParams(list).toString());
    const json = (text: string) => send(lk.url, 'POST', '/oauth/token', [['content-type', 'application/json'], ['x-forwarded-for', freshAddress()]], text);
    const valid: [string, string][] = [['grant_type', 'client_credentials'], ...Object.entries(credentials)];
    for (const repeated of [['grant_type', 'client_credentials'], ['scope', 'templates:read'], ['client_id', full.integration.clientId]] as [string, string][]) {
      expectOAuthError(await form([...valid, repeated, ...(repeated[0] === 'scope' ? [repeated] : [])]), 400, 'invalid_request');
    }
    expectOAuthError(await json(`{"grant_type":"client_credentials","client_id":"${full.integration.clientId}","client_secret":"wrong","client_secret":"${full.clientSecret}"}`), 400, 'invalid_request');
    // Empty values: no scope means every granted scope, no audience the Environment API.
    const empty = await form([...valid, ['scope', ''], ['audience', '']]);
    expect(empty.status, empty.text).toBe(200);
    expect(empty.json.scope).toBe(ALL.join(' '));
    expect(decodeJwt(empty.json.access_token).aud).toBe(lk.config.environmentApiAudience);
    // Unknown parameters, whatever their value.
    expect((await form([...valid, ['unknown', 'x'], ['nonce', '1']])).status).toBe(200);
    for (const extra of ['5', 'true', '[1,2]', '{"a":{"b":[null]}}', 'null']) {
      const answer = await json(`{"grant_type":"client_credentials","client_id":"${full.integration.clientId}","client_secret":"${full.clientSecret}","extra":${extra}}`);
      expect(answer.status, `extra: ${extra} → ${answer.text}`).toBe(200);
    }
    // A parameter the endpoint reads must still be a string.
    expectOAuthError(await json(`{"grant_type":"client_credentials","client_id":"${full.integration.clientId}","client_secret":"${full.clientSecret}","scope":5}`), 400, 'invalid_request');
  });

  it('#5 a missing grant_type is 400 invalid_request; any grant but client_credentials and the token exchange (test/token-exchange.test.ts) is 400 unsupported_grant_type', async () => {
    expectOAuthError(await tokenRequest({}, { authorization: basic(full) }), 400, 'invalid_request');
    for (const grant of ['authorization_code', 'password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'CLIENT_CREDENTIALS']) {
      expectOAuthError(await tokenRequest({ grant_type: grant }, { authorization: basic(full) }), 400, 'unsupported_grant_type');
    }
  });

  it('#6 client_secret_basic: form-urlencoded id and secret joined by a colon, then base64; a badly encoded header is 400', async () => {
    // The checklist vector decodes (to an unknown client): 401, not 400.
    const vector = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: 'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx' });
    expectOAuthError(vector, 401, 'invalid_client');
    // Every character percent-encoded still names the real client and secret: form decoding is applied.
    const percentAll = (text: string) => [...Buffer.from(text)].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
    const encoded = `Basic ${Buffer.from(`${percentAll(full.integration.clientId)}:${percentAll(full.clientSecret)}`).toString('base64')}`;
    expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: encoded })).status).toBe(200);
    // Secrets with ':', '+', '%' and a space survive the encoding (a wrong secret, so 401 — not a 400).
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(full.integration.clientId, 'a:b+c%d e') }), 401, 'invalid_client');
    const valid = basic(full);
    const unpadded = valid.replace(/=+$/, '');
    for (const bad of [
      `${valid}=AAAA`,
      `${unpadded}A`,
      `${unpadded}!`,
      `Basic ${Buffer.from(`${full.integration.clientId}:sécret`, 'utf8').toString('base64')}`,
      `Basic ${Buffer.from(`${full.integration.clientId}:%zz`).toString('base64')}`,
      `Basic ${Buffer.from('no colon').toString('base64')}`,
      'Basic',
      'Bearer abc',
    ]) {
      expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: bad }), 400, 'invalid_request');
    }
  });

  it('#7 a Basic header with a body secret is 400; a body client_id different from the Basic one is 400', async () => {
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', client_secret: full.clientSecret }, { authorization: basic(full) }), 400, 'invalid_request');
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', client_id: 'lkc_0000000000000000000002' }, { authorization: basic(full) }), 400, 'invalid_request');
    expect((await tokenRequest({ grant_type: 'client_credentials', client_id: full.integration.clientId }, { authorization: basic(full) })).status).toBe(200);
  });

  it('#7 a repeated Authorization header is 400 invalid_request, whichever comes first', async () => {
    const other = await lk.createIntegration({ name: 'checklist: second credentials' });
    for (const pair of [
      [basic(full), basic(other)],
      [basic(full), basic(full)],
      [basic(full), 'Bearer x'],
    ]) {
      const answer = await tokenRequest({ grant_type: 'client_credentials' }, { headers: pair.map((value): [string, string] => ['authorization', value]) });
      expectOAuthError(answer, 400, 'invalid_request');
      expect(answer.json.error_description).toMatch(/Authorization header is repeated/);
    }
  });
  it('#8 an unknown client ID and a wrong secret get the same answer after the same work', async () => {
    // Neither has been asked for yet, so both miss the in-memory directory and load from the database.
    const real = await lk.createIntegration({ name: 'checklist: never asked for yet' });
    const wrong = `${real.clientSecret.slice(0, -1)}${real.clientSecret.endsWith('A') ? 'B' : 'A'}`;
    const lookups = async (clientId: string) => {
      const before = lk.queries.length;
      const answer = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, wrong) });
      const reads = lk.queries.slice(before).filter((query) => /^SelectQueryNode .*integration/.test(query)).sort();
      return { answer, reads };
    };
    const known = await lookups(real.integration.clientId);
    const unknown = await lookups('lkc_0000000000000000000001');
    expectOAuthError(known.answer, 401, 'invalid_client');
    expect(unknown.answer.text).toBe(known.answer.text);
    for (const name of ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'content-length']) expect(unknown.answer.headers[name], name).toBe(known.answer.headers[name]);
    expect(known.reads).toHaveLength(3);
    expect(unknown.reads).toEqual(known.reads);
  });
  it('#9 failed client authentication is 401 invalid_client with a Basic challenge, whichever method was used', async () => {
    const wrong = `${full.clientSecret.slice(0, -1)}${full.clientSecret.endsWith('A') ? 'B' : 'A'}`;
    const viaBasic = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(full.integration.clientId, wrong) });
    const viaPost = await tokenRequest({ grant_type: 'client_credentials', client_id: full.integration.clientId, client_secret: wrong });
    for (const answer of [viaBasic, viaPost]) {
      expectOAuthError(answer, 401, 'invalid_client');
      expect(answer.headers['www-authenticate']).toBe('Basic realm="latchkey", charset="UTF-8"');
    }
  });

  it('#10 repeated failures per client ID (from one address) or per address get 429 with Retry-After; other clients are unaffected', async () => {
    const target = await integration('checklist: targeted', { 'environment-api': READ_ONLY });
    const bystander = await integration('checklist: bystander', { 'environment-api': READ_ONLY });
    const attacker = freshAddress();
    const wrong = basicAuthorization(target.integration.clientId, 'lks_not-the-secret');
    for (let i = 0; i < PER_CLIENT; i++) expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: wrong, from: attacker }), 401, 'invalid_client');
    const limited = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: wrong, from: attacker });
    expectOAuthError(limited, 429, 'temporarily_unavailable');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_SECONDS);
    // Other clients from that address, and the targeted client from its own address, are unaffected.
    await tokenOf(bystander, {}, attacker);
    await tokenOf(target);

    // Per address: failures for many client IDs from one address.
    const scanner = freshAddress();
    for (let i = 0; i < PER_IP; i++) await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(`lkc_${String(i).padStart(22, '0')}`, 'lks_x'), from: scanner });
    const blocked = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(bystander.integration.clientId, 'lks_x'), from: scanner });
    expectOAuthError(blocked, 429, 'temporarily_unavailable');
    expect(blocked.json.error_description).toMatch(/from this address/);
    await tokenOf(bystander);
  });

  it('#11 forwarded addresses are believed only from configured proxies', async () => {
    // This server trusts 127.0.0.1: the address its proxy appended is the client's (the audit shows it).
    const from = freshAddress();
    await tokenOf(full, { scope: 'fonts:read' }, `203.0.113.250, ${from}`);
    expect(await auditEntries((entry) => entry.ip === from)).toHaveLength(1);
    // A server that trusts no proxy ignores the header: a client cannot choose its address.
    const direct = await startTestLatchkey({ dialect: 'sqlite' });
    try {
      const client = await direct.createIntegration({ name: 'direct' });
      const spoofed = freshAddress();
      for (let i = 0; i < 3; i++) {
        const res = await direct.postToken({ grant_type: 'client_credentials', client_id: client.integration.clientId, client_secret: 'lks_wrong' }, { 'x-forwarded-for': spoofed });
        expect(res.status).toBe(401);
      }
      const directAdmin = await adminSession(direct, 'direct@example.com', { platformAdmin: true });
      const entries = (await directAdmin.request('GET', '/api/v1/audit?action=token.issue')).body.entries as { ip: string }[];
      expect(entries.map((entry) => entry.ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    } finally {
      await direct.close();
    }
  });

  // Token response (RFC 6749 §5.1, §5.2, §3.3)

  it('#12 success is 200 JSON with no-store and no-cache: access_token, token_type Bearer, expires_in in whole seconds, scope; no refresh token', async () => {
    const { answer, body } = await tokenOf(full);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.pragma).toBe('no-cache');
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body.token_type).toBe('Bearer');
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(body.expires_in).toBeGreaterThan(0);
    expect(body.expires_in).toBeLessThanOrEqual(lk.config.tokenTtlSeconds);
    expect(typeof body.scope).toBe('string');
  });

  it('#13 no scope gives every granted scope, listed; a scope outside the grant is 400 invalid_scope', async () => {
    const reader = await integration('checklist: reader', { 'environment-api': READ_ONLY });
    const { body } = await tokenOf(reader);
    expect(body.scope.split(' ')).toEqual(READ_ONLY);
    expect((await tokenOf(reader, { scope: 'media:read fonts:read' })).body.scope).toBe('media:read fonts:read');
    for (const scope of ['templates:write', 'templates:read integrations:read', 'no-such:scope']) {
      expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', scope }, { authorization: basic(reader) }), 400, 'invalid_scope');
    }
  });

  it('#14 errors are JSON {error, error_description} with no-store; the description uses printable ASCII without " and \\', async () => {
    const hostile = 'templates:read "quoted" back\\slash é \u2028 \u0000';
    const answers = [
      await tokenRequest({ grant_type: 'client_credentials', scope: hostile }, { authorization: basic(full) }),
      await tokenRequest({ grant_type: 'client_credentials', audience: `https://example.com/"\\é` }, { authorization: basic(full) }),
      await tokenRequest({ grant_type: `weird"\\é` }, { authorization: basic(full) }),
      await tokenRequest({ grant_type: 'client_credentials', client_id: `lkc_"\\é`, client_secret: 'x' }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 401]);
    for (const answer of answers) expectOAuthError(answer, answer.status, answer.json.error);
  });

  it('#15 each error code has its status: 400, 401, 403, 413 and 429', async () => {
    const noPlatform = await integration('checklist: environment only', { 'environment-api': READ_ONLY });
    const from = freshAddress();
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', scope: 'a', client_secret: 'x' }, { authorization: basic(full) }), 400, 'invalid_request');
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(noPlatform.integration.clientId, 'lks_wrong'), from }), 401, 'invalid_client');
    expectOAuthError(await tokenRequest({ grant_type: 'implicit' }, { authorization: basic(full) }), 400, 'unsupported_grant_type');
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', scope: 'fonts:write' }, { authorization: basic(noPlatform) }), 400, 'invalid_scope');
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', resource: 'https://unknown.example/api' }, { authorization: basic(full) }), 400, 'invalid_target');
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', audience: lk.config.platformApiAudience }, { authorization: basic(noPlatform) }), 403, 'access_denied');
    const oversized = await send(lk.url, 'POST', '/oauth/token', [['content-type', FORM], ['authorization', basic(full)], ['x-forwarded-for', freshAddress()]], `grant_type=client_credentials&pad=${'x'.repeat(16 * 1024)}`);
    expectOAuthError(oversized, 413, 'invalid_request');
    for (let i = 1; i < PER_CLIENT; i++) await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(noPlatform.integration.clientId, 'lks_wrong'), from });
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(noPlatform.integration.clientId, 'lks_wrong'), from }), 429, 'temporarily_unavailable');
  });

  // JWT access tokens (RFC 9068)

  it('#16 the token header is typ at+jwt with a kid from the JWKS, signed with ES256 (never none, never HMAC)', async () => {
    const { token } = await tokenOf(full);
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const keys = (await jwks()).keys;
    expect(keys.map((key) => key.kid)).toContain(header.kid);
    for (const key of keys) {
      expect(key.alg ?? 'ES256').not.toMatch(/^(none|HS)/i);
      expect(key).not.toHaveProperty('d');
    }
    await verify(token);
  });

  it('#17 the claims: iss, exp, aud, sub (the client), client_id, iat, jti, scope (space-separated), environment', async () => {
    const { token } = await tokenOf(full, { scope: 'templates:read media:read' });
    const { payload } = await verify(token);
    expect(payload).toMatchObject({ iss: lk.config.issuer, aud: lk.config.environmentApiAudience, sub: full.integration.clientId, client_id: full.integration.clientId, scope: 'templates:read media:read', environment: 'demo' });
    expect(payload.exp! - payload.iat!).toBe(lk.config.tokenTtlSeconds);
    expect(typeof payload.jti).toBe('string');
    expect(payload.jti).not.toBe(decodeJwt((await tokenOf(full, { scope: 'fonts:read' })).token).jti);
  });

  it('#18 a resource server refuses with 401 invalid_token: wrong typ, wrong iss, another aud, an unexpected alg, expired, an unknown kid', async () => {
    const { kid } = lk.server.runtime.keyStore.signer(clock.now());
    const now = Math.floor(clock.now() / 1000);
    const { privateKey: strangerKey } = await generateKeyPair('ES256');
    const platformReader = await integration('checklist: platform reader', { 'platform-api': ['integrations:read'] });
    const hs256 = await new SignJWT({ scope: ALL.join(' '), environment: 'demo', client_id: full.integration.clientId })
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
      .setIssuer(lk.config.issuer).setAudience(lk.config.environmentApiAudience).setSubject(full.integration.clientId).setIssuedAt(now).setExpirationTime(now + 600)
      .sign(new TextEncoder().encode('k'.repeat(32)));
    const unsigned = `${b64url({ alg: 'none', typ: 'at+jwt', kid })}.${b64url(decodeJwt(await forge({}, {})))}.`;
    const unknownKid = await new SignJWT({ scope: ALL.join(' '), environment: 'demo', client_id: full.integration.clientId })
      .setProtectedHeader({ alg: 'ES256', kid: 'key_unknown', typ: 'at+jwt' })
      .setIssuer(lk.config.issuer).setAudience(lk.config.environmentApiAudience).setSubject(full.integration.clientId).setIssuedAt(now).setExpirationTime(now + 600).setJti('x')
      .sign(strangerKey);
    const cases: Record<string, string> = {
      'typ JWT': await forge({ typ: 'JWT' }, {}),
      'another issuer': await forge({}, { iss: 'https://evil.example' }),
      'another audience': (await tokenOf(platformReader, { audience: lk.config.platformApiAudience })).token,
      'HS256 with the kid of a real key': hs256,
      'alg none': unsigned,
      expired: await forge({}, { iat: now - 7200, exp: now - 3600 }),
      'unknown kid': unknownKid,
    };
    expect((await environmentApi('GET', '/api/v1/environments/demo/templates', await forge({}, {}))).status).toBe(200);
    for (const [name, token] of Object.entries(cases)) {
      const answer = await environmentApi('GET', '/api/v1/environments/demo/templates', token);
      expect(answer.status, name).toBe(401);
      expect(answer.headers['www-authenticate'], name).toMatch(/^Bearer realm="latchkey-environment-api", error="invalid_token"/);
    }
  });

  // Resource server (RFC 6750)

  it('#19 no token is 401 with WWW-Authenticate: Bearer realm="…" and no error code', async () => {
    const answer = await environmentApi('GET', '/api/v1/environments/demo/templates');
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="latchkey-environment-api"');
  });

  it('#20 a bad or expired token is 401 with WWW-Authenticate: Bearer error="invalid_token"', async () => {
    const { token } = await tokenOf(full);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `${header}.${b64url({ ...decodeJwt(token), scope: 'everything' })}.${signature}`;
    const now = Math.floor(clock.now() / 1000);
    // Expired by more than the resource server's 5 s clock tolerance.
    const flippedSignature = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    for (const bad of ['not-a-jwt', tampered, `${header}.${payload}.${flippedSignature}`, await forge({}, { iat: now - 100, exp: now - 10 })]) {
      const answer = await environmentApi('GET', '/api/v1/environments/demo/templates', bad);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="latchkey-environment-api", error="invalid_token"/);
    }
  });

  it('#21 a token without the scope a route needs is 403 with error="insufficient_scope" and the scope', async () => {
    const { token } = await tokenOf(full, { scope: 'templates:read' });
    const answer = await send(lk.url, 'POST', '/api/v1/environments/demo/templates', [['authorization', `Bearer ${token}`], ['content-type', 'application/json']], JSON.stringify({ name: 'x', content: {} }));
    expect(answer.status).toBe(403);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="latchkey-environment-api", error="insufficient_scope", .*\bscope="templates:write"$/);
  });

  it('#22 a token in the query string is refused', async () => {
    const { token } = await tokenOf(full);
    for (const path of [`/api/v1/environments/demo/templates?access_token=${token}`, `/api/v1/environments/demo/templates?x=1&access_token=${token}`]) {
      const answer = await environmentApi('GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.json.error).toBe('invalid_request');
      expect(answer.text).not.toContain('"templates"');
    }
    const both = await environmentApi('GET', `/api/v1/environments/demo/templates?access_token=${token}`, token);
    expect(both.status).toBe(400);
  });

  it('#23 a token of another environment is 403 on every Environment API route, whatever its scopes', async () => {
    await lk.createEnvironment('elsewhere');
    const stranger = await integration('checklist: another environment', { 'environment-api': ALL }, 'elsewhere');
    const { token } = await tokenOf(stranger);
    const operations = documentedOperations(JSON.parse((await send(lk.url, 'GET', '/docs/json')).text)).filter((op) => op.tags.some((tag) => tag.startsWith('Environment API')));
    expect(operations.length).toBeGreaterThan(10);
    for (const op of operations) {
      const path = op.path.replace('{environmentId}', 'demo').replace(/\{\w+\}/g, 'some-id');
      const answer = await environmentApi(op.method, path, token);
      expect(answer.status, op.key).toBe(403);
      expect(answer.json.code, op.key).toBe('wrong_environment');
    }
  });

  // Metadata (RFC 8414)

  it('#24 RFC 8414 metadata: issuer = the tokens iss, absolute endpoints, the grant and auth methods; no invalid OpenID document', async () => {
    const answer = await send(lk.url, 'GET', '/.well-known/oauth-authorization-server');
    expect(answer.status).toBe(200);
    const metadata = answer.json;
    expect(metadata.issuer).toBe(decodeJwt((await tokenOf(full)).token).iss);
    expect(metadata.token_endpoint).toBe(`${lk.config.issuer}/oauth/token`);
    expect(metadata.jwks_uri).toBe(`${lk.config.issuer}/.well-known/jwks.json`);
    for (const url of [metadata.token_endpoint, metadata.jwks_uri]) expect(new URL(url).href).toBe(url);
    expect(metadata.grant_types_supported).toEqual(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(metadata.response_types_supported).toEqual([]);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining([...ALL, 'integrations:read', 'audit:read']));
    // Optional endpoints are listed only when they exist: every *_endpoint answers (a POST-only one with 405).
    const endpoints = Object.entries(metadata).filter(([name]) => name.endsWith('_endpoint'));
    expect(endpoints.map(([name]) => name).sort()).toEqual(['introspection_endpoint', 'latchkey_revocation_feed_endpoint', 'revocation_endpoint', 'token_endpoint']);
    for (const [name, url] of endpoints) {
      expect((await send(lk.url, 'GET', new URL(url as string).pathname)).status, name).not.toBe(404);
    }
    // Latchkey is no OpenID Provider, so it serves no OpenID discovery document (docs/decisions.md).
    const oidc = await send(lk.url, 'GET', '/.well-known/openid-configuration');
    expect(oidc.status).toBe(404);
    expect(oidc.json).toMatchObject({ code: 'not_an_openid_provider' });
  });

  // The seed's behaviours

  it('#25 the same integration, audience and scopes get the same token, expires_in counting down, until the refresh window opens', async () => {
    const seed = await integration('checklist: seed cache', { 'environment-api': READ_ONLY });
    const first = await tokenOf(seed, { scope: 'templates:read' });
    clock.advance(10_000);
    const again = await tokenOf(seed, { scope: 'templates:read' });
    expect(again.token).toBe(first.token);
    expect(again.body.expires_in).toBe(first.body.expires_in - 10);
    // Just outside the refresh window: still the same token.
    const window = lk.config.tokenRefreshWindowSeconds;
    clock.advance((again.body.expires_in - window - 1) * 1000);
    const late = await tokenOf(seed, { scope: 'templates:read' });
    expect(late.token).toBe(first.token);
    expect(late.body.expires_in).toBe(window + 1);
    // No more than the refresh window left: the next request gets a new token.
    clock.advance(2000);
    const renewed = await tokenOf(seed, { scope: 'templates:read' });
    expect(renewed.token).not.toBe(first.token);
    expect(renewed.body.expires_in).toBe(lk.config.tokenTtlSeconds);
    // Moving time ended the admin's console session; sign in again for what follows.
    admin = await signIn(lk, 'checklist@example.com');
  });

  it('#26 a permission change or a secret rotation gets a fresh token at once; a disabled or deleted integration gets 401 at once', async () => {
    const subject = await integration('checklist: changes', { 'environment-api': READ_ONLY });
    const base = `/api/v1/environments/demo/integrations/${subject.integration.clientId}`;
    const before = await tokenOf(subject);
    expect((await admin.request('PUT', `${base}/permissions`, { body: { grants: { 'environment-api': ['templates:read'] } } })).status).toBe(200);
    const narrowed = await tokenOf(subject);
    expect(narrowed.token).not.toBe(before.token);
    expect(narrowed.body.scope).toBe('templates:read');

    const rotated = await admin.request('POST', `${base}/secrets`, { body: { graceSeconds: 3600 } });
    expect(rotated.status).toBe(201);
    secrets.add(rotated.body.clientSecret);
    const withNew = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(subject.integration.clientId, rotated.body.clientSecret) });
    expect(withNew.status).toBe(200);
    expect(withNew.json.access_token).not.toBe(narrowed.token);

    expect((await admin.request('POST', `${base}/disable`)).status).toBe(200);
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(subject) }), 401, 'invalid_client');
    expect((await admin.request('POST', `${base}/enable`)).status).toBe(200);
    await tokenOf(subject);
    expect((await admin.request('DELETE', base)).status).toBe(204);
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(subject) }), 401, 'invalid_client');
  });

  it('#27 cached tokens are never shared across integrations or environments', async () => {
    const grants = { 'environment-api': READ_ONLY };
    const [one, two, three] = [await integration('checklist: twin 1', grants), await integration('checklist: twin 2', grants), await integration('checklist: twin 3', grants, 'elsewhere')];
    const tokens = [await tokenOf(one), await tokenOf(two), await tokenOf(three)].map(({ token }) => token);
    expect(new Set(tokens).size).toBe(3);
    expect(tokens.map((token) => decodeJwt(token).sub)).toEqual([one, two, three].map((i) => i.integration.clientId));
    expect(decodeJwt(tokens[2]!).environment).toBe('elsewhere');
  });

  // #28 asked that the console and the docs say what happens to a token already issued wherever a
  // user disables, deletes or changes permissions. Since issue 13 the truth is that those revoke it
  // (adding scopes alone does not): the test proves the behaviour and that every place says so.
  it('#28 what happens to tokens already issued is what the API, the docs and the console say wherever a user disables, deletes or changes permissions', async () => {
    const subject = await integration('checklist: issued tokens', { 'environment-api': ALL });
    const base = `/api/v1/environments/demo/integrations/${subject.integration.clientId}`;
    const { token } = await tokenOf(subject);
    const added = await admin.request('PUT', `${base}/permissions`, { body: { grants: { 'environment-api': ALL, 'platform-api': ['integrations:read'] } } });
    expect(added.body.note).toMatch(/tokens already issued keep theirs until they expire/);
    expect((await environmentApi('GET', '/api/v1/environments/demo/templates', token)).status).toBe(200);
    const removed = await admin.request('PUT', `${base}/permissions`, { body: { grants: { 'environment-api': ['templates:read'] } } });
    expect(removed.body.note).toMatch(/every token issued before this change was revoked/);
    expect((await environmentApi('GET', '/api/v1/environments/demo/templates', token)).status).toBe(401);
    const { token: second } = await tokenOf(subject);
    expect((await admin.request('POST', `${base}/disable`)).status).toBe(200);
    expect((await environmentApi('GET', '/api/v1/environments/demo/templates', second)).status).toBe(401);
    expect((await admin.request('DELETE', base)).status).toBe(204);

    const operations = documentedOperations(JSON.parse((await send(lk.url, 'GET', '/docs/json')).text));
    for (const key of ['POST /api/v1/environments/{environmentId}/integrations/{clientId}/disable', 'DELETE /api/v1/environments/{environmentId}/integrations/{clientId}']) {
      expect(operations.find((op) => op.key === key)?.operation.summary, key).toMatch(/Every token issued to it so far is revoked at once/);
    }
    // The console, as served (its scripts and the chunks they load): the disable, delete and
    // permission dialogs say it.
    const seen = new Set<string>();
    const pending = [...(await send(lk.url, 'GET', '/', [['accept', 'text/html']])).text.matchAll(/src="\/?(assets\/[^"]+\.js)"/g)].map(([, path]) => path!);
    const scripts: string[] = [];
    while (pending.length > 0) {
      const path = pending.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const text = (await send(lk.url, 'GET', `/${path}`)).text;
      scripts.push(text);
      for (const [, chunk] of text.matchAll(/\.\/([\w-]+\.js)["'`]/g)) if (!seen.has(`assets/${chunk}`)) pending.push(`assets/${chunk}`);
    }
    const bundle = scripts.join('\n');
    expect(bundle).toContain('Every token issued to it so far is revoked:');
    expect(bundle).toContain('Enabling it again does not bring those tokens back.');
    expect(bundle).toContain('Disabling or deleting the integration, and removing any of its scopes, revoke every token issued before');
    expect(bundle).toContain('tokens already issued keep theirs until they expire');
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(/Tokens can be taken back\.\*\*/);
    expect(readme).toMatch(/disabling or deleting an integration, removing one of its scopes or deleting an\n> environment does it automatically/);
  });

  it('#29 secrets: 256 random bits, a prefix and a checksum, kept as a keyed hash, shown once; after rotation both work until the grace period ends', async () => {
    const subject = await integration('checklist: secrets', { 'environment-api': READ_ONLY });
    const secret = subject.clientSecret;
    expect(secret).toMatch(CLIENT_SECRET_PATTERN);
    expect(isWellFormedClientSecret(secret)).toBe(true);
    // 43 base62 characters carry 43 × log2(62) ≈ 256.03 bits.
    expect(43 * Math.log2(62)).toBeGreaterThanOrEqual(256);
    const flipped = `${secret.slice(0, 10)}${secret[10] === 'A' ? 'B' : 'A'}${secret.slice(11)}`;
    expect(isWellFormedClientSecret(flipped)).toBe(false);
    // At rest: a keyed hash, neither the secret nor its plain SHA-256.
    const rows = await lk.database.db.selectFrom('integration_secrets').select('secret_hash').where('integration_id', '=', subject.integration.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secret_hash).not.toContain(secret);
    expect(rows[0]!.secret_hash).not.toBe(createHash('sha256').update(secret).digest('hex'));
    // Shown once: no read of the integration returns it.
    const base = `/api/v1/environments/demo/integrations/${subject.integration.clientId}`;
    for (const path of [base, `${base}/secrets`, '/api/v1/environments/demo/integrations']) expect((await admin.request('GET', path)).text).not.toContain(secret);

    const rotated = await admin.request('POST', `${base}/secrets`, { body: { graceSeconds: 60 } });
    const next = rotated.body.clientSecret as string;
    secrets.add(next);
    for (const current of [secret, next]) expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(subject.integration.clientId, current) })).status).toBe(200);
    clock.advance(61_000);
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(subject.integration.clientId, secret) }), 401, 'invalid_client');
    expect((await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(subject.integration.clientId, next) })).status).toBe(200);
  });

  it('#30 minted tokens and failures are audited with integration, environment, scopes, IP and outcome; cached hits are counted, not written', async () => {
    const subject = await integration('checklist: audited', { 'environment-api': READ_ONLY });
    const from = freshAddress();
    const minted = await tokenOf(subject, { scope: 'fonts:read' }, from);
    for (let i = 0; i < 5; i++) expect((await tokenOf(subject, { scope: 'fonts:read' }, from)).token).toBe(minted.token);
    expectOAuthError(await tokenRequest({ grant_type: 'client_credentials', scope: 'fonts:read' }, { authorization: basicAuthorization(subject.integration.clientId, 'lks_wrong'), from }), 401, 'invalid_client');
    const entries = await auditEntries((entry) => entry.ip === from, 2);
    expect(entries.map(({ actor, environmentId, target, details, outcome }) => ({ actor, environmentId, target, details, outcome })).sort((a, b) => a.outcome.localeCompare(b.outcome))).toEqual([
      { actor: { type: 'integration', id: subject.integration.clientId }, environmentId: 'demo', target: { type: 'audience', id: lk.config.environmentApiAudience }, details: { scopes: ['fonts:read'] }, outcome: 'invalid_client' },
      { actor: { type: 'integration', id: subject.integration.clientId }, environmentId: 'demo', target: { type: 'audience', id: lk.config.environmentApiAudience }, details: { scopes: ['fonts:read'] }, outcome: 'success' },
    ]);
    // The five cached answers were counted (usage), not written one by one (no more entries).
    const usage = await admin.request('GET', `/api/v1/environments/demo/integrations/${subject.integration.clientId}/usage`);
    expect(usage.body.days.reduce((sum: number, day: any) => sum + day.tokensCached, 0)).toBe(5);
    expect(usage.body.days.reduce((sum: number, day: any) => sum + day.tokensMinted, 0)).toBe(1);
    // (Reading the audit log writes what is waiting first, so one read shows everything.)
    expect(await auditEntries((entry) => entry.ip === from, 0)).toHaveLength(2);
  });

  it('#30 405, 413 and failures before authentication are audited, attributed to the client whose credentials they carry', async () => {
    const from = freshAddress();
    const clientId = full.integration.clientId;
    await send(lk.url, 'GET', '/oauth/token', [['authorization', basic(full)], ['x-forwarded-for', from]]);
    await send(lk.url, 'POST', '/oauth/token', [['authorization', basic(full)], ['x-forwarded-for', from], ['content-type', 'application/x-www-form-urlencoded']], 'grant_type=client_credentials&pad='.padEnd(17_000, 'x'));
    await tokenRequest({ grant_type: 'password' }, { authorization: basic(full), from });
    await tokenRequest({ grant_type: 'client_credentials', grant_type2: 'x', client_secret: full.clientSecret }, { authorization: basic(full), from });
    const entries = await auditEntries((entry) => entry.ip === from, 4);
    expect(entries.map((entry) => entry.outcome).sort()).toEqual(['invalid_request', 'invalid_request', 'invalid_request', 'unsupported_grant_type']);
    for (const entry of entries) {
      expect(entry.actor).toEqual({ type: 'integration', id: clientId });
      expect(entry.environmentId).toBe('demo');
    }
  });
  it('#30 refused invalid_scope, access_denied and invalid_target rows keep what was asked for, never a secret', async () => {
    const from = freshAddress();
    const platformAudience = lk.config.platformApiAudience;
    await tokenRequest({ grant_type: 'client_credentials', scope: 'templates:read integrations:read' }, { authorization: basic(full), from });
    await tokenRequest({ grant_type: 'client_credentials', audience: platformAudience }, { authorization: basic(full), from });
    await tokenRequest({ grant_type: 'client_credentials', audience: 'https://nowhere.example/api', scope: `fonts:read ${full.clientSecret}` }, { authorization: basic(full), from });
    await tokenRequest({ grant_type: 'client_credentials', audience: full.clientSecret }, { authorization: basic(full), from });
    const entries = await auditEntries((entry) => entry.ip === from, 4);
    const byOutcome = Object.fromEntries(entries.map((entry) => [`${entry.outcome} ${entry.target.id}`, entry.details.scopes]));
    expect(byOutcome).toEqual({
      [`invalid_scope ${lk.config.environmentApiAudience}`]: ['templates:read', 'integrations:read'],
      [`access_denied ${platformAudience}`]: [],
      'invalid_target https://nowhere.example/api': ['fonts:read', '(not a scope name)'],
      'invalid_target (not a URI)': [],
    });
    expect(JSON.stringify(entries)).not.toContain(full.clientSecret);
  });
  it('#30 no secret or token of this run is in the logs, the audit log or any table in clear', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    // Reading the audit log writes what is waiting (docs/platform-api.md), so everything is at rest.
    expect((await admin.request('GET', '/api/v1/audit?limit=1')).status).toBe(200);
    const logs = lk.logs.join('\n');
    const tables = ['audit_log', 'auth_failures', 'integrations', 'integration_secrets', 'integration_grants', 'token_cache', 'changes', 'usage_daily', 'settings', 'signing_keys', 'admin_sessions'] as const;
    const atRest: string[] = [];
    for (const table of tables) atRest.push(JSON.stringify(await lk.database.db.selectFrom(table).selectAll().execute()));
    const stored = atRest.join('\n');
    const leaks = [...secrets].filter((secret) => logs.includes(secret) || stored.includes(secret));
    expect(leaks).toEqual([]);
  });
});
