// The protocol checklist (../shared/rfc-checklist.md), one test per statement, named by its number,
// against a live server over real HTTP on both dialects. Requests come "from" addresses of their own
// (the server trusts X-Forwarded-For from loopback here, checklist 11), so the failed-authentication
// limits one statement provokes never leak into another.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, type SessionClient } from './support/platform-client.ts';
import type { IntegrationWithSecret } from '../packages/server/src/platform/integrations.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;
const PER_CLIENT = 5;
const PER_IP = 30;

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

  beforeAll(async () => {
    lk = await startTestLatchkey({
      dialect,
      clock,
      recordQueries: true,
      env: { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1', LATCHKEY_AUTH_FAILURES_PER_CLIENT: String(PER_CLIENT), LATCHKEY_AUTH_FAILURES_PER_IP: String(PER_IP) },
    });
    admin = await adminSession(lk, 'checklist@example.com', { platformAdmin: true });
    full = await lk.createIntegration({ name: 'checklist: all scopes', grants: { 'environment-api': ALL } });
  });
  afterAll(async () => lk?.close());

  /** A token request with a form body, from `from` (a fresh address unless given). */
  function tokenRequest(params: Record<string, string>, options: { authorization?: string; from?: string; headers?: [string, string][] } = {}): Promise<Answer> {
    const headers: [string, string][] = [['content-type', 'application/x-www-form-urlencoded'], ['x-forwarded-for', options.from ?? freshAddress()], ...(options.headers ?? [])];
    if (options.authorization !== undefined) headers.push(['authorization', options.authorization]);
    return send(lk.url, 'POST', '/oauth/token', headers, new URLSearchParams(params).toString());
  }
  const basic = (integration: IntegrationWithSecret) => basicAuthorization(integration.integration.clientId, integration.clientSecret);

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
});
