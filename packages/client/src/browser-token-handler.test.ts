import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkProof } from '../test/support/dpop-app.ts';
import { closeServer, listenOnLoopback, recordingServer, sendJson } from '../test/support/loopback.ts';
import { FakeTokenEndpoint } from '../test/support/fake-token-endpoint.ts';
import { createBrowserTokenSource } from './browser/index.ts';
import { browserTokenHandler } from './browser-token-handler.ts';
import { TokenClient } from './token-client.ts';

const PROOF = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJQT1NUIn0.c2lnbmF0dXJl';
const NO_STORE = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' };

let endpoint: FakeTokenEndpoint;
let tokens: TokenClient;

beforeEach(async () => {
  endpoint = await FakeTokenEndpoint.start();
  // A clock that stands still, so expires_in is exactly what the endpoint said.
  const now = Date.now();
  tokens = new TokenClient({ tokenUrl: endpoint.tokenUrl, clientId: 'int_backend', clientSecret: 'lks_backend_secret', now: () => now, sleep: async () => undefined });
});
afterEach(async () => {
  await endpoint.close();
});

const exchangeRequests = () => endpoint.tokenRequests.filter((request) => new URLSearchParams(request.body).get('grant_type') !== 'client_credentials');

describe('browserTokenHandler', () => {
  it("answers 200 with the browser token, no-store, and passes the page's proof to Latchkey unchanged", async () => {
    const handle = browserTokenHandler(tokens, { scope: 'fonts:read media:read' });
    const result = await handle(PROOF);
    expect(result).toEqual({ status: 200, headers: NO_STORE, body: { access_token: 'btok_2', token_type: 'DPoP', expires_in: 900, scope: 'fonts:read media:read' } });
    const [exchange] = exchangeRequests();
    expect(exchange?.headers.dpop).toBe(PROOF);
    expect(new URLSearchParams(exchange?.body).get('scope')).toBe('fonts:read media:read');
  });

  it('lets the page ask for less than the configured scope, not more', async () => {
    const handle = browserTokenHandler(tokens, { scope: ['fonts:read', 'media:read'] });
    expect((await handle(PROOF, 'fonts:read')).body).toMatchObject({ scope: 'fonts:read' });
    expect(await handle(PROOF, 'fonts:read templates:write')).toEqual({
      status: 400,
      headers: NO_STORE,
      body: { error: 'invalid_scope', error_description: 'scope not offered to the page: templates:write' },
    });
    expect(exchangeRequests()).toHaveLength(1);
  });

  it.each([
    ['no DPoP header', undefined, 'a DPoP header with a proof for the token endpoint is required'],
    ['an empty DPoP header', '', 'a DPoP header with a proof for the token endpoint is required'],
    ['two DPoP headers', [PROOF, PROOF], 'the DPoP header must carry exactly one proof JWT'],
    ['two proofs joined by fetch', `${PROOF}, ${PROOF}`, 'the DPoP header must carry exactly one proof JWT'],
    ['a non-JWT', 'hello', 'the DPoP header must carry exactly one proof JWT'],
  ])('refuses %s with 400 invalid_dpop_proof, without asking Latchkey', async (_, dpop, description) => {
    expect(await browserTokenHandler(tokens)(dpop)).toEqual({ status: 400, headers: NO_STORE, body: { error: 'invalid_dpop_proof', error_description: description } });
    expect(endpoint.tokenRequests).toHaveLength(0);
  });

  it('hands out an unbound token without a proof only when told to (requireDpop: false)', async () => {
    const result = await browserTokenHandler(tokens, { requireDpop: false })(undefined);
    expect(result.body).toMatchObject({ token_type: 'Bearer' });
    expect(exchangeRequests()[0]?.headers.dpop).toBeUndefined();
  });

  it.each([['a number', 42], ['an empty string', ''], ['a quote', 'fonts:read "x']])('refuses a requested scope that is %s with 400 invalid_request', async (_, scope) => {
    expect((await browserTokenHandler(tokens)(PROOF, scope)).body).toMatchObject({ error: 'invalid_request' });
    expect(endpoint.tokenRequests).toHaveLength(0);
  });

  it("passes Latchkey's refusal of the proof, or of the page's own scope, to the page as 400", async () => {
    const handle = browserTokenHandler(tokens);
    endpoint.replies.push({ status: 200, body: { access_token: 'tok_1', token_type: 'Bearer', expires_in: 3600 } });
    endpoint.replies.push({ status: 400, body: { error: 'invalid_dpop_proof', error_description: 'htu is not the token endpoint' } });
    expect(await handle(PROOF)).toEqual({ status: 400, headers: NO_STORE, body: { error: 'invalid_dpop_proof', error_description: 'htu is not the token endpoint' } });
    endpoint.replies.push({ status: 400, body: { error: 'invalid_scope', error_description: 'browser tokens carry read scopes only' } });
    expect(await handle(PROOF, 'fonts:write')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });

  it("answers 502 with Latchkey's explanation when Latchkey refuses the backend", async () => {
    endpoint.replies.push({ status: 400, body: { error: 'unauthorized_client', error_description: 'this integration may not mint browser tokens: enable them on its Permissions tab' } });
    expect(await browserTokenHandler(tokens)(PROOF)).toEqual({
      status: 502,
      headers: NO_STORE,
      body: { error: 'unauthorized_client', error_description: 'this integration may not mint browser tokens: enable them on its Permissions tab' },
    });
  });

  it('answers 503 (with Retry-After when known) when Latchkey is busy or unreachable, and 502 for a non-token answer', async () => {
    await tokens.getToken();
    endpoint.replies.push({ status: 429, headers: { 'retry-after': '7' }, body: { error: 'slow_down' } });
    expect(await browserTokenHandler(tokens)(PROOF)).toEqual({
      status: 503,
      headers: { ...NO_STORE, 'retry-after': '7' },
      body: { error: 'temporarily_unavailable', error_description: 'Latchkey is busy or unavailable; try again later' },
    });
    endpoint.replies.push('drop');
    expect(await browserTokenHandler(tokens)(PROOF)).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    endpoint.replies.push({ status: 200, body: '<html>' });
    expect(await browserTokenHandler(tokens)(PROOF)).toMatchObject({ status: 502, body: { error: 'server_error' } });
  });

  it('rethrows what is not a token-endpoint outcome, and refuses misuse with a TypeError', async () => {
    const broken = { exchangeForBrowserToken: async () => Promise.reject(new RangeError('bug')) };
    await expect(browserTokenHandler(broken)(PROOF)).rejects.toThrow(RangeError);
    expect(() => browserTokenHandler({} as TokenClient)).toThrow(TypeError);
    expect(() => browserTokenHandler(tokens, { scope: '' })).toThrow(TypeError);
  });
});

describe('browser tokens end to end: the page, a backend using browserTokenHandler, the token endpoint', () => {
  let backend: Server;
  let backendUrl = '';

  beforeEach(async () => {
    const handle = browserTokenHandler(tokens, { scope: 'fonts:read media:read' });
    // The app's own route, as a plain node:http handler: JSON body in, the handler's answer out.
    backend = recordingServer(({ headers, body }, response) => {
      const scope = body === '' ? undefined : (JSON.parse(body) as { scope?: unknown }).scope;
      void handle(headers.dpop, scope).then((answer) => sendJson(response, answer.status, answer.body, answer.headers));
    });
    backendUrl = `${await listenOnLoopback(backend)}/browser-token`;
  });
  afterEach(async () => {
    await closeServer(backend);
  });

  it("delivers the page's proof for the token endpoint to Latchkey, and the bound token back to the page", async () => {
    const source = createBrowserTokenSource({ backendUrl, tokenEndpoint: endpoint.tokenUrl, scope: 'fonts:read' });
    const token = await source.getToken();
    expect(token).toMatchObject({ accessToken: 'btok_2', tokenType: 'DPoP', scope: 'fonts:read' });
    const [exchange] = exchangeRequests();
    const proof = await checkProof(String(exchange?.headers.dpop), { method: 'POST', url: endpoint.tokenUrl, now: Date.now() });
    expect(proof.jkt).toBe(await source.thumbprint());
    expect(new URLSearchParams(exchange?.body).get('scope')).toBe('fonts:read');
  });

  it("gives the page the backend's refusal as a TokenRequestError", async () => {
    const source = createBrowserTokenSource({ backendUrl, tokenEndpoint: endpoint.tokenUrl, scope: 'fonts:write' });
    await expect(source.getToken()).rejects.toMatchObject({ code: 'ERR_TOKEN_REQUEST', status: 400, error: 'invalid_scope' });
    expect(endpoint.tokenRequests).toHaveLength(0);
  });
});
