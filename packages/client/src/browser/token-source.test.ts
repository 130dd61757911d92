import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryDpopReplayStore, DpopProofError, verifyDpopProof } from '@latchkey/resource';
import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DpopApp, TOKEN_ENDPOINT, checkProof } from '../../test/support/dpop-app.ts';
import { TokenNetworkError, TokenRequestError, TokenResponseError } from '../errors.ts';
import { createBrowserTokenSource } from './index.ts';
import type { BrowserTokenSource, BrowserTokenSourceOptions } from './index.ts';

let app: DpopApp;

beforeEach(async () => {
  app = await DpopApp.start();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await app.close();
});

function makeSource(options: Partial<BrowserTokenSourceOptions> = {}): BrowserTokenSource {
  return createBrowserTokenSource({ backendUrl: app.backendUrl, tokenEndpoint: TOKEN_ENDPOINT, now: () => app.now, ...options });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

describe('createBrowserTokenSource: the key and the proofs (RFC 9449 §2, §4.2)', () => {
  it('signs proofs that verify with their embedded public jwk, one key (thumbprint) for the life of the source', async () => {
    const source = makeSource({ refreshAheadSeconds: 0 });
    await source.fetch(`${app.url}/api/fonts`);
    app.now += app.expiresIn * 1000; // the first token is now expired: the next call gets another
    await source.fetch(`${app.url}/api/media`);

    expect(app.backendProofs).toHaveLength(2);
    expect(app.apiProofs).toHaveLength(2);
    const thumbprint = await source.thumbprint();
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const proof of [...app.backendProofs, ...app.apiProofs]) expect(proof.jkt).toBe(thumbprint);
    // A second page (source) has a key of its own.
    expect(await makeSource().thumbprint()).not.toBe(thumbprint);
  });

  it('puts typ dpop+jwt, alg ES256 and only the public members of the key in the header', async () => {
    const source = makeSource();
    await source.fetch(`${app.url}/api/fonts`);
    const header = decodeProtectedHeader(String(app.apiRequests[0]?.headers.dpop));
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) } });
  });

  it('keeps the private key non-extractable: WebCrypto refuses to export it in any format', async () => {
    const generateKey = vi.spyOn(globalThis.crypto.subtle, 'generateKey');
    const source = makeSource();
    await source.fetch(`${app.url}/api/fonts`);
    await source.fetch(`${app.url}/api/media`);
    expect(generateKey).toHaveBeenCalledTimes(1);
    expect(generateKey.mock.calls[0]?.slice(0, 2)).toEqual([{ name: 'ECDSA', namedCurve: 'P-256' }, false]);
    const pair = (await generateKey.mock.results[0]?.value) as CryptoKeyPair;
    expect(pair.privateKey.extractable).toBe(false);
    for (const format of ['jwk', 'pkcs8'] as const) {
      await expect(globalThis.crypto.subtle.exportKey(format, pair.privateKey)).rejects.toThrow();
    }
    // The key that signed is that one: its public half is the one in the proofs.
    const publicJwk = await globalThis.crypto.subtle.exportKey('jwk', pair.publicKey);
    expect(app.apiProofs[0]?.jwk).toMatchObject({ x: publicJwk.x, y: publicJwk.y });
  });

  it('asks the backend with a proof for POST to the token endpoint (htm, htu, no ath), and sends no token there', async () => {
    await makeSource().getToken();
    const [request] = app.backendRequests;
    expect(request?.method).toBe('POST');
    expect(request?.headers.authorization).toBeUndefined();
    expect(app.backendProofs[0]).toMatchObject({ htm: 'POST', htu: TOKEN_ENDPOINT, ath: undefined });
  });

  it('signs each API request: htm as sent, htu without query and fragment, ath = SHA-256 of the token, a fresh jti', async () => {
    const source = makeSource();
    const first = await source.fetch(`${app.url}/api/fonts?page=2&q=a%20b#top`);
    const second = await source.fetch(`${app.url}/api/fonts?page=2&q=a%20b#top`);
    const removed = await source.fetch(new URL(`${app.url}/api/media/m1`), { method: 'delete' });
    const patched = await source.fetch(new Request(`${app.url}/api/projects/p1?x=1`, { method: 'PATCH', body: '{"name":"n"}' }));
    expect([first.status, second.status, removed.status, patched.status]).toEqual([200, 200, 200, 200]);

    const { accessToken } = await source.getToken();
    expect(app.apiProofs.map(({ htm, htu, ath }) => ({ htm, htu, ath }))).toEqual([
      { htm: 'GET', htu: `${app.url}/api/fonts`, ath: sha256(accessToken) },
      { htm: 'GET', htu: `${app.url}/api/fonts`, ath: sha256(accessToken) },
      { htm: 'DELETE', htu: `${app.url}/api/media/m1`, ath: sha256(accessToken) },
      { htm: 'PATCH', htu: `${app.url}/api/projects/p1`, ath: sha256(accessToken) },
    ]);
    expect(new Set(app.apiProofs.map((proof) => proof.jti)).size).toBe(4);
    expect(app.apiRequests.map((request) => request.headers.authorization)).toEqual(Array(4).fill(`DPoP ${accessToken}`));
    expect(((await patched.json()) as { body: string }).body).toBe('{"name":"n"}');
  });

  it("passes @latchkey/resource's verifyDpopProof, which refuses the same proof replayed or for another request", async () => {
    const source = makeSource();
    const url = `${app.url}/api/media/m1?size=large`;
    const { dpop } = await source.headersFor('PUT', url);
    const { accessToken } = await source.getToken();
    const replay = createMemoryDpopReplayStore();
    const tokenProof = await verifyDpopProof({ proof: String(app.backendRequests[0]?.headers.dpop), method: 'POST', url: TOKEN_ENDPOINT, now: app.now, replay });
    expect(tokenProof.jkt).toBe(await source.thumbprint());
    expect(await verifyDpopProof({ proof: dpop, method: 'PUT', url, accessToken, now: app.now, replay })).toMatchObject({ jkt: tokenProof.jkt });
    await expect(verifyDpopProof({ proof: dpop, method: 'PUT', url, accessToken, now: app.now, replay })).rejects.toThrow(DpopProofError);
    const fresh = createMemoryDpopReplayStore();
    for (const other of [{ method: 'GET', url }, { method: 'PUT', url: `${app.url}/api/media/m2` }, { method: 'PUT', url, accessToken: 'another-token' }]) {
      await expect(verifyDpopProof({ proof: dpop, accessToken, ...other, now: app.now, replay: fresh })).rejects.toThrow(DpopProofError);
    }
  });

  it('gives the headers for a request made some other way, accepted for that method and URL only', async () => {
    const source = makeSource();
    const url = `${app.url}/api/fonts/f1?download=1`;
    const headers = await source.headersFor('get', url);
    const { accessToken } = await source.getToken();
    expect(headers.authorization).toBe(`DPoP ${accessToken}`);
    await expect(checkProof(headers.dpop, { method: 'GET', url, accessToken, now: app.now })).resolves.toMatchObject({ htu: `${app.url}/api/fonts/f1` });
    await expect(checkProof(headers.dpop, { method: 'POST', url, accessToken, now: app.now })).rejects.toThrow(/htm/);
    await expect(checkProof(headers.dpop, { method: 'GET', url: `${app.url}/api/fonts/f2`, accessToken, now: app.now })).rejects.toThrow(/htu/);
    await expect(checkProof(headers.dpop, { method: 'GET', url, accessToken: `${accessToken}x`, now: app.now })).rejects.toThrow(/ath/);
  });

  it('sends the token with the key only: the resource refuses the same token replayed with another key or without a proof', async () => {
    const source = makeSource();
    await source.fetch(`${app.url}/api/fonts`);
    const stolen = String(app.apiRequests[0]?.headers.authorization);
    const attacker = makeSource();
    const forged = await fetch(`${app.url}/api/fonts`, { headers: { authorization: stolen, dpop: (await attacker.headersFor('GET', `${app.url}/api/fonts`)).dpop } });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/invalid_dpop_proof/);
    // The attacker's proof (for its own, different token) has the wrong ath as well as the wrong key.
    const replayed = await fetch(`${app.url}/api/fonts`, { headers: { authorization: stolen, dpop: String(app.apiRequests[0]?.headers.dpop) } });
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toMatch(/jti replayed/);
  });
});

describe('createBrowserTokenSource: the token (refresh ahead, single flight)', () => {
  it('keeps the token until refreshAheadSeconds before it expires, on the injected clock', async () => {
    const source = makeSource({ refreshAheadSeconds: 60 });
    const first = await source.getToken();
    expect(first).toEqual({ accessToken: 'btok_1', tokenType: 'DPoP', expiresAt: app.now + 900_000, scope: 'fonts:read media:read' });
    app.now += 839_000;
    expect((await source.getToken()).accessToken).toBe('btok_1');
    expect(app.backendRequests).toHaveLength(1);
    app.now += 2_000; // 59 s left
    expect((await source.getToken()).accessToken).toBe('btok_2');
    expect(app.backendRequests).toHaveLength(2);
  });

  it('caps the refresh-ahead at half a short lifetime, so a short token is not refetched on every call', async () => {
    app.expiresIn = 60;
    const source = makeSource({ refreshAheadSeconds: 300 });
    await source.getToken();
    app.now += 29_000;
    expect((await source.getToken()).accessToken).toBe('btok_1');
    app.now += 2_000;
    expect((await source.getToken()).accessToken).toBe('btok_2');
  });

  it('keeps using a still-valid token when the refresh ahead fails, and fails once it has expired', async () => {
    const source = makeSource({ refreshAheadSeconds: 60 });
    await source.getToken();
    app.now += 850_000;
    app.backendReplies.push({ status: 503, body: { error: 'temporarily_unavailable' } }, { status: 503, body: { error: 'temporarily_unavailable' } });
    expect((await source.getToken()).accessToken).toBe('btok_1');
    app.now += 60_000;
    const error = await failure(source.getToken());
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ status: 503, error: 'temporarily_unavailable' });
    expect((await source.getToken()).accessToken).toBe('btok_2');
  });

  it('shares one backend request between concurrent callers, at first and at each refresh', async () => {
    app.backendDelayMs = 50;
    const source = makeSource();
    const first = await Promise.all(Array.from({ length: 8 }, (_, index) => source.fetch(`${app.url}/api/fonts/${index}`)));
    expect(first.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(app.backendRequests).toHaveLength(1);
    app.now += 900_000;
    const tokens = await Promise.all(Array.from({ length: 8 }, () => source.getToken()));
    expect(new Set(tokens.map((token) => token.accessToken))).toEqual(new Set(['btok_2']));
    expect(app.backendRequests).toHaveLength(2);
  });

  it('asks the backend for the configured scope, with the extra headers given', async () => {
    const source = makeSource({ scope: ['fonts:read'], headers: { 'x-csrf-token': 'c1' } });
    expect((await source.getToken()).scope).toBe('fonts:read');
    const [request] = app.backendRequests;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-csrf-token']).toBe('c1');
    expect(JSON.parse(String(request?.body))).toEqual({ scope: 'fonts:read' });
  });

  it('invalidate() makes the next call ask again', async () => {
    const source = makeSource();
    await source.getToken();
    source.invalidate();
    expect((await source.getToken()).accessToken).toBe('btok_2');
  });
});

describe('createBrowserTokenSource: fetch after a 401', () => {
  it('gets a new token and repeats the request once when the API says invalid_token', async () => {
    const source = makeSource();
    await source.fetch(`${app.url}/api/fonts`);
    app.tokens.get('btok_1')!.revoked = true;
    const response = await source.fetch(`${app.url}/api/templates`, { method: 'POST', body: 'payload', headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ token: 'btok_2', method: 'POST', body: 'payload', accept: 'application/json' });
    expect(app.backendRequests).toHaveLength(2);
    const [refused, retried] = app.apiRequests.slice(1);
    expect(refused?.headers.dpop).not.toBe(retried?.headers.dpop);
  });

  it('repeats a Request with a body from a copy', async () => {
    const source = makeSource();
    await source.getToken();
    app.tokens.get('btok_1')!.revoked = true;
    const response = await source.fetch(new Request(`${app.url}/api/projects`, { method: 'PUT', body: 'doc' }));
    expect(await response.json()).toMatchObject({ token: 'btok_2', method: 'PUT', body: 'doc' });
  });

  it('retries only once: a second invalid_token is returned to the caller', async () => {
    const ghost = { status: 200, body: { access_token: 'ghost', token_type: 'DPoP', expires_in: 900 } };
    app.backendReplies.push(ghost, ghost);
    const response = await makeSource().fetch(`${app.url}/api/fonts`);
    expect(response.status).toBe(401);
    expect(app.apiRequests).toHaveLength(2);
    expect(app.backendRequests).toHaveLength(2);
  });

  it('does not retry a 401 that a new token would not fix (invalid_dpop_proof), a 403, or a streamed body', async () => {
    app.tokens.set('foreign', { jkt: 'another-key', expiresAt: app.now + 900_000, revoked: false });
    app.backendReplies.push({ status: 200, body: { access_token: 'foreign', token_type: 'DPoP', expires_in: 900 } });
    const source = makeSource();
    const wrongKey = await source.fetch(`${app.url}/api/fonts`);
    expect(wrongKey.status).toBe(401);
    expect(app.apiRequests).toHaveLength(1);

    source.invalidate();
    expect((await source.fetch(`${app.url}/api/forbidden`)).status).toBe(403);
    expect(app.apiRequests).toHaveLength(2);

    app.tokens.get('btok_1')!.revoked = true;
    const stream = new ReadableStream({ start: (controller) => (controller.enqueue(new TextEncoder().encode('x')), controller.close()) });
    const streamed = await source.fetch(`${app.url}/api/media`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(401);
    expect(app.apiRequests).toHaveLength(3);
  });

  it('concurrent callers refused together share one refresh', async () => {
    const source = makeSource();
    await source.getToken();
    app.tokens.get('btok_1')!.revoked = true;
    app.backendDelayMs = 30;
    const responses = await Promise.all(Array.from({ length: 6 }, (_, index) => source.fetch(`${app.url}/api/fonts/${index}`)));
    expect(responses.map((response) => response.status)).toEqual(Array(6).fill(200));
    expect(app.backendRequests).toHaveLength(2);
  });
});

describe('createBrowserTokenSource: what the backend answers, and misuse', () => {
  it("raises the backend's OAuth error as TokenRequestError", async () => {
    app.backendReplies.push({ status: 502, body: { error: 'unauthorized_client', error_description: 'enable browser tokens on the Permissions tab' } });
    const error = await failure(makeSource().getToken());
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REQUEST', status: 502, error: 'unauthorized_client', errorDescription: 'enable browser tokens on the Permissions tab' });
  });

  it('refuses an unbound (Bearer) token, and does not repeat the token in the error', async () => {
    app.backendReplies.push({ status: 200, body: { access_token: 'eyJ.bearer.tok', token_type: 'Bearer', expires_in: 900 } });
    const error = await failure(makeSource().getToken());
    expect(error).toBeInstanceOf(TokenResponseError);
    expect((error as Error).message).toMatch(/not DPoP/);
    expect((error as Error).message).not.toContain('eyJ.bearer.tok');
  });

  it.each([
    ['not JSON', '<html>hello</html>', /without a JSON body/],
    ['a JSON array', '[]', /not an object/],
    ['no access_token', { token_type: 'DPoP', expires_in: 900 }, /no access_token/],
    ['no expires_in', { access_token: 't', token_type: 'DPoP' }, /expires_in/],
    ['a negative expires_in', { access_token: 't', token_type: 'DPoP', expires_in: -1 }, /expires_in/],
  ])('refuses a 200 with %s as TokenResponseError', async (_, body, message) => {
    app.backendReplies.push({ status: 200, body });
    const error = await failure(makeSource().getToken());
    expect(error).toBeInstanceOf(TokenResponseError);
    expect((error as Error).message).toMatch(message);
  });

  it('raises TokenNetworkError when the backend drops the connection or is not there', async () => {
    app.backendReplies.push('drop');
    expect(await failure(makeSource().getToken())).toBeInstanceOf(TokenNetworkError);
    expect(await failure(makeSource({ backendUrl: 'http://127.0.0.1:1/browser-token' }).getToken())).toBeInstanceOf(TokenNetworkError);
  });

  it('refuses bad options with a TypeError', () => {
    expect(() => makeSource({ tokenEndpoint: '/oauth/token' })).toThrow(/tokenEndpoint/);
    expect(() => makeSource({ backendUrl: '' })).toThrow(/backendUrl/);
    expect(() => makeSource({ refreshAheadSeconds: -1 })).toThrow(/refreshAheadSeconds/);
    expect(() => makeSource({ scope: [1] as unknown as string[] })).toThrow(/scope/);
  });

  it('refuses a relative API URL where there is no page to resolve it against', async () => {
    await expect(makeSource().fetch('/api/fonts')).rejects.toThrow(TypeError);
  });
});

describe('the browser entry point', () => {
  it('uses no Node API and no dependency anywhere in its module graph', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      const imports = [...source.matchAll(/^(?:import|export)\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1]!);
      expect(imports.filter((specifier) => !specifier.startsWith('.')), file).toEqual([]);
      // Type-only imports are erased from the JavaScript, so they are not followed. Comments aside: no
      // Buffer, process or require in the code.
      const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\b(Buffer|process|require|__dirname)\b/);
      for (const specifier of imports) visit(path.resolve(path.dirname(file), specifier));
    };
    visit(path.join(here, 'index.ts'));
    expect([...seen].map((file) => path.relative(here, file)).sort()).toEqual(
      ['../errors.ts', '../oauth-response.ts', '../options.ts', '../refreshing-cache.ts', 'base64url.ts', 'dpop-key.ts', 'dpop-proof.ts', 'index.ts', 'token-source.ts'],
    );
  });
});
