import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AUDIENCE, b64url, createSigningKey, FakeIssuer } from '../test/support/fake-issuer.ts';
import { rejection } from '../test/support/rejection.ts';
import type { SigningKey } from '../test/support/fake-issuer.ts';
import { createVerifier, verifyAccessToken } from './create-verifier.ts';
import type { AccessTokenVerifier, VerifierOptions } from './create-verifier.ts';
import { AccessTokenError } from './errors.ts';

let issuer: FakeIssuer;
let verifier: AccessTokenVerifier;

beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});
beforeEach(() => {
  issuer.published = Object.values(issuer.keys);
  issuer.failures.clear();
  issuer.hits.clear();
  issuer.metadataOverrides = {};
  verifier = makeVerifier();
});

function makeVerifier(options: Partial<VerifierOptions> = {}): AccessTokenVerifier {
  return createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate, ...options });
}

function key(name: string): SigningKey {
  return issuer.keys[name] as SigningKey;
}

async function expectInvalid(token: string, description?: string): Promise<AccessTokenError> {
  const error = await rejection(verifier.verify(token));
  expect(error.code).toBe('ERR_TOKEN_INVALID');
  expect(error.statusCode).toBe(401);
  expect(error.error).toBe('invalid_token');
  if (description !== undefined) expect(error.errorDescription).toBe(description);
  expect(error.wwwAuthenticate).toBe(
    `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="${error.errorDescription}"`,
  );
  return error;
}

describe('createVerifier: accepting tokens', () => {
  for (const name of ['es256', 'rs256', 'ps256', 'eddsa']) {
    it(`accepts a valid ${name} token and exposes its claims`, async () => {
      const token = await issuer.sign({ scope: 'templates:read templates:write' }, { key: key(name) });
      const claims = await verifier.verify(token);
      expect(claims).toMatchObject({
        iss: issuer.issuer,
        aud: AUDIENCE,
        sub: 'int_client',
        client_id: 'int_client',
        scope: 'templates:read templates:write',
        environment: 'env_1',
      });
      expect(Object.isFrozen(claims)).toBe(true);
    });
  }

  it('accepts typ application/at+jwt (RFC 9068 §4 allows the full media type)', async () => {
    await expect(verifier.verify(await issuer.sign({}, { header: { typ: 'application/at+jwt' } }))).resolves.toMatchObject({
      sub: 'int_client',
    });
  });

  it('accepts an aud array containing one of its audiences', async () => {
    const token = await issuer.sign({ aud: ['https://other.test', AUDIENCE] });
    await expect(verifier.verify(token)).resolves.toMatchObject({ aud: ['https://other.test', AUDIENCE] });
  });

  it('accepts a token for any of several configured audiences', async () => {
    verifier = makeVerifier({ audience: ['https://a.test', AUDIENCE] });
    await expect(verifier.verify(await issuer.sign())).resolves.toMatchObject({ aud: AUDIENCE });
    expect(verifier.realm).toBe('https://a.test');
  });

  it('tolerates 5 seconds of clock skew by default, and no more', async () => {
    const expiring = await issuer.sign({ exp: Math.floor(issuer.now / 1000) + 10 });
    const fresh = makeVerifier();
    issuer.advance(14);
    await expect(fresh.verify(expiring)).resolves.toBeDefined();
    issuer.advance(2);
    const late = makeVerifier();
    expect((await rejection(late.verify(expiring))).code).toBe('ERR_TOKEN_EXPIRED');
  });

  it('accepts a token issued slightly in the future within the tolerance', async () => {
    const iat = Math.floor(issuer.now / 1000) + 4;
    await expect(verifier.verify(await issuer.sign({ iat, nbf: iat }))).resolves.toBeDefined();
  });
});

describe('createVerifier: rejecting tokens (RFC 9068 §4, checklist 18)', () => {
  it('rejects an expired token with ERR_TOKEN_EXPIRED', async () => {
    const token = await issuer.sign({ exp: Math.floor(issuer.now / 1000) - 60 });
    const error = await rejection(verifier.verify(token));
    expect(error.code).toBe('ERR_TOKEN_EXPIRED');
    expect(error.statusCode).toBe(401);
    expect(error.wwwAuthenticate).toBe(
      `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the access token has expired"`,
    );
    expect(error.body).toEqual({ error: 'invalid_token', error_description: 'the access token has expired' });
  });

  it('rejects a token for another audience', async () => {
    await expectInvalid(await issuer.sign({ aud: 'https://api.test/platform-api' }), 'the token is not meant for this API (aud)');
  });

  it('rejects a token from another issuer', async () => {
    await expectInvalid(await issuer.sign({ iss: 'https://evil.test' }), 'the token was issued by another issuer (iss)');
  });

  it('rejects typ JWT (an ID-token-like JWT) and a missing typ', async () => {
    const description = 'the token is not an access token (typ must be at+jwt)';
    await expectInvalid(await issuer.sign({}, { header: { typ: 'JWT' } }), description);
    await expectInvalid(await issuer.sign({}, { header: { typ: undefined } }), description);
  });

  it('rejects alg none', async () => {
    const header = { alg: 'none', typ: 'at+jwt', kid: key('es256').kid };
    await expectInvalid(`${b64url(header)}.${b64url(issuer.claims())}.`);
  });

  it('rejects HS256 signed with the public key bytes as the secret (algorithm confusion)', async () => {
    for (const secretSource of [JSON.stringify(key('rs256').publicJwk), JSON.stringify(key('es256').publicJwk)]) {
      const secret = new TextEncoder().encode(secretSource);
      const token = await new SignJWT(issuer.claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key('rs256').kid })
        .sign(secret);
      await expectInvalid(token, 'the token is signed with an algorithm this API does not accept');
    }
    expect(issuer.jwksHits).toBe(0); // refused before any key lookup
  });

  it('rejects an algorithm outside the configured list', async () => {
    verifier = makeVerifier({ algorithms: ['ES256'] });
    await expectInvalid(
      await issuer.sign({}, { key: key('rs256') }),
      'the token is signed with an algorithm this API does not accept',
    );
  });

  it('rejects an unknown kid', async () => {
    const stranger = await createSigningKey('ES256', 'not-published');
    await expectInvalid(await issuer.sign({}, { key: stranger }), 'the token is signed with an unknown key (kid)');
  });

  it('rejects a token without kid', async () => {
    await expectInvalid(await issuer.sign({}, { header: { kid: undefined } }), 'the token header has no kid');
  });

  it('rejects a token signed by another key that claims a published kid', async () => {
    const forger = await createSigningKey('ES256', key('es256').kid);
    await expectInvalid(await issuer.sign({}, { key: forger }), 'the token signature is invalid');
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await issuer.sign()).split('.');
    const altered = b64url(issuer.claims({ scope: 'templates:write' }));
    await expectInvalid(`${header}.${altered}.${signature}`, 'the token signature is invalid');
  });

  for (const claim of ['sub', 'client_id', 'jti', 'scope', 'iat', 'exp']) {
    it(`rejects a token without ${claim}`, async () => {
      await expectInvalid(await issuer.sign({ [claim]: undefined }), `the token has no ${claim} claim`);
    });
  }

  it('rejects a non-string client_id', async () => {
    await expectInvalid(await issuer.sign({ client_id: 42 }), 'the token client_id claim is not a valid string');
  });

  it('rejects a token that is not valid yet (nbf)', async () => {
    await expectInvalid(await issuer.sign({ nbf: Math.floor(issuer.now / 1000) + 60 }), 'the token is not valid yet (nbf)');
  });

  it('rejects a token issued in the future (iat)', async () => {
    await expectInvalid(await issuer.sign({ iat: Math.floor(issuer.now / 1000) + 60 }), 'the token was issued in the future (iat)');
  });

  it('rejects garbage', async () => {
    for (const garbage of ['abc', 'a.b.c', 'a.b', `${b64url({ alg: 'ES256' })}.e30.`]) {
      await expectInvalid(garbage);
    }
    expect((await rejection(verifier.verify(''))).code).toBe('ERR_TOKEN_MISSING');
  });

  it('never echoes the token in the error', async () => {
    const token = await issuer.sign({ aud: 'https://elsewhere.test' });
    const error = await expectInvalid(token);
    expect(JSON.stringify(error.body) + error.message + error.wwwAuthenticate).not.toContain(token.split('.')[1]);
  });

  it('throws TypeError for a token that is not a string', async () => {
    await expect(verifier.verify(42 as unknown as string)).rejects.toBeInstanceOf(TypeError);
  });
});

describe('createVerifier: keys', () => {
  it('discovers jwks_uri through RFC 8414 metadata and fetches the JWKS once', async () => {
    for (let i = 0; i < 5; i += 1) await verifier.verify(await issuer.sign());
    expect(issuer.hits.get('/.well-known/oauth-authorization-server')).toBe(1);
    expect(issuer.jwksHits).toBe(1);
  });

  it('lets 1000 garbage-kid tokens cause at most one JWKS refetch per cooldown', async () => {
    await verifier.verify(await issuer.sign());
    expect(issuer.jwksHits).toBe(1);
    const stranger = await createSigningKey('ES256', 'garbage');
    const garbage = await issuer.sign({}, { key: stranger });

    // Within the cooldown of the first fetch: no refetch at all.
    await Promise.all(Array.from({ length: 100 }, () => verifier.verify(garbage).catch(() => undefined)));
    expect(issuer.jwksHits).toBe(1);

    issuer.advance(31);
    const concurrent = await Promise.all(
      Array.from({ length: 1000 }, () => verifier.verify(garbage).then(() => undefined, (error: unknown) => error)),
    );
    for (let i = 0; i < 1000; i += 1) await verifier.verify(garbage).catch(() => undefined);
    expect(issuer.jwksHits).toBe(2);
    expect(concurrent.every((error) => error instanceof AccessTokenError && error.code === 'ERR_TOKEN_INVALID')).toBe(true);
    expect(verifier.jwksFetchCount()).toBe(2);
  });

  it('picks up a newly published key after the cooldown', async () => {
    await verifier.verify(await issuer.sign());
    const rotated = await createSigningKey('ES256', 'es256-2');
    issuer.published = [...issuer.published, rotated];
    issuer.advance(30);
    await expect(verifier.verify(await issuer.sign({}, { key: rotated }))).resolves.toMatchObject({ sub: 'int_client' });
    expect(issuer.jwksHits).toBe(2);
  });

  it('refreshes stale keys in the background and keeps them when the refresh fails', async () => {
    await verifier.verify(await issuer.sign());
    issuer.advance(601);
    issuer.failures.set('/.well-known/jwks.json', 500);
    await expect(verifier.verify(await issuer.sign())).resolves.toBeDefined();
    await vi.waitFor(() => expect(issuer.jwksHits).toBe(2));
    await expect(verifier.verify(await issuer.sign())).resolves.toBeDefined();
  });

  it('answers 503 ERR_JWKS_UNAVAILABLE when keys cannot be loaded, and recovers', async () => {
    issuer.failures.set('/.well-known/jwks.json', 500);
    const token = await issuer.sign();
    const error = await rejection(verifier.verify(token));
    expect(error.code).toBe('ERR_JWKS_UNAVAILABLE');
    expect(error.statusCode).toBe(503);
    expect(error.wwwAuthenticate).toBeUndefined();
    expect(error.cause).toBeDefined();
    // Fails fast for a moment instead of refetching on every request...
    await rejection(verifier.verify(token));
    expect(issuer.jwksHits).toBe(1);
    // ...then tries again.
    issuer.failures.clear();
    issuer.advance(2);
    await expect(verifier.verify(token)).resolves.toBeDefined();
  });

  it('refuses metadata that names another issuer (RFC 8414 §3.3)', async () => {
    issuer.metadataOverrides = { issuer: 'https://evil.test' };
    const error = await rejection(verifier.verify(await issuer.sign()));
    expect(error.code).toBe('ERR_JWKS_UNAVAILABLE');
    expect(issuer.jwksHits).toBe(0);
  });

  it('uses jwksUri without discovery when given (and revocation is off)', async () => {
    verifier = makeVerifier({ jwksUri: `${issuer.issuer}/.well-known/jwks.json`, revocation: false });
    await verifier.verify(await issuer.sign());
    expect(issuer.hits.get('/.well-known/oauth-authorization-server')).toBeUndefined();
    expect(issuer.jwksHits).toBe(1);
  });

  it('with jwksUri given, still reads the metadata once, for the revocation feed', async () => {
    verifier = makeVerifier({ jwksUri: `${issuer.issuer}/.well-known/jwks.json` });
    await verifier.verify(await issuer.sign());
    await verifier.verify(await issuer.sign());
    expect(issuer.hits.get('/.well-known/oauth-authorization-server')).toBe(1);
    expect(issuer.jwksHits).toBe(1);
  });

  it('uses the injected fetch', async () => {
    const seen: string[] = [];
    verifier = makeVerifier({
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    await verifier.verify(await issuer.sign());
    expect(seen).toEqual([`${issuer.issuer}/.well-known/oauth-authorization-server`, `${issuer.issuer}/.well-known/jwks.json`]);
  });
});

describe('createVerifier: verified-token cache', () => {
  it('returns the same claims for a repeated token without re-verifying', async () => {
    const token = await issuer.sign();
    const first = await verifier.verify(token);
    // Withdraw every key: only the cache can still answer.
    issuer.published = [];
    expect(await verifier.verify(token)).toBe(first);
    expect(await verifier.verify(token)).toBe(first);
  });

  it('never answers from the cache past exp', async () => {
    verifier = makeVerifier({ clockToleranceSeconds: 0 });
    const token = await issuer.sign({ exp: Math.floor(issuer.now / 1000) + 60 });
    const first = await verifier.verify(token);
    issuer.advance(59);
    expect(await verifier.verify(token)).toBe(first);
    issuer.advance(1);
    expect((await rejection(verifier.verify(token))).code).toBe('ERR_TOKEN_EXPIRED');
  });

  it('re-verifies a token accepted within the tolerance instead of caching it', async () => {
    const token = await issuer.sign({ exp: Math.floor(issuer.now / 1000) + 60 });
    const first = await verifier.verify(token);
    issuer.advance(62); // past exp, within the 5 s tolerance
    const second = await verifier.verify(token);
    expect(second).not.toBe(first);
    expect(await verifier.verify(token)).not.toBe(second);
  });

  it('re-verifies after cacheMaxAgeSeconds so a withdrawn key stops being honoured', async () => {
    verifier = makeVerifier({ cacheMaxAgeSeconds: 60, jwksMaxAgeSeconds: 30 });
    const token = await issuer.sign();
    const first = await verifier.verify(token);
    issuer.published = [key('rs256')];
    issuer.advance(59);
    expect(await verifier.verify(token)).toBe(first);
    issuer.advance(2);
    // Re-verified against the keys held (stale-while-revalidate starts a background refresh)...
    const second = await verifier.verify(token);
    expect(second).not.toBe(first);
    // Wait until the refreshed key set has landed: a new token signed with the withdrawn key fails.
    await vi.waitFor(async () => expect((await rejection(verifier.verify(await issuer.sign()))).code).toBe('ERR_TOKEN_INVALID'));
    expect(issuer.jwksHits).toBe(2);
    // ...and at the next re-verification the withdrawn key is gone.
    issuer.advance(61);
    await expectInvalid(token, 'the token is signed with an unknown key (kid)');
  });

  it('is bounded: the least recently used token is evicted', async () => {
    verifier = makeVerifier({ cacheSize: 2 });
    const [a, b, c] = await Promise.all([issuer.sign(), issuer.sign(), issuer.sign()]) as [string, string, string];
    const claimsA = await verifier.verify(a);
    const claimsB = await verifier.verify(b);
    await verifier.verify(c);
    expect(await verifier.verify(b)).toBe(claimsB);
    expect(await verifier.verify(a)).not.toBe(claimsA);
  });

  it('can be disabled with cacheSize 0', async () => {
    verifier = makeVerifier({ cacheSize: 0 });
    const token = await issuer.sign();
    expect(await verifier.verify(token)).not.toBe(await verifier.verify(token));
  });

  it('does not cache failures', async () => {
    const token = await issuer.sign({ nbf: Math.floor(issuer.now / 1000) + 30 });
    await expectInvalid(token);
    issuer.advance(30);
    await expect(verifier.verify(token)).resolves.toBeDefined();
  });
});

describe('verifyRequest and assertScopes (RFC 6750)', () => {
  it('answers a request without a token 401 with a challenge and no error code', async () => {
    const error = await rejection(verifier.verifyRequest({ url: '/templates' }));
    expect(error.code).toBe('ERR_TOKEN_MISSING');
    expect(error.statusCode).toBe(401);
    expect(error.wwwAuthenticate).toBe(`Bearer realm="${AUDIENCE}"`);
    expect(error.body).toEqual({ error_description: 'this API requires a bearer access token' });
  });

  it('answers a Basic Authorization header like a missing token', async () => {
    const error = await rejection(verifier.verifyRequest({ authorization: 'Basic YTpi' }));
    expect(error.code).toBe('ERR_TOKEN_MISSING');
  });

  it('refuses a token in the query string with 400 invalid_request, even with a header', async () => {
    const token = await issuer.sign();
    for (const url of [`/templates?access_token=${token}`, `/templates?a=1&access%5Ftoken=${token}`]) {
      for (const authorization of [undefined, `Bearer ${token}`]) {
        const error = await rejection(verifier.verifyRequest({ url, authorization }));
        expect(error.code).toBe('ERR_TOKEN_IN_QUERY');
        expect(error.statusCode).toBe(400);
        expect(error.wwwAuthenticate).toMatch(/^Bearer realm="[^"]+", error="invalid_request", error_description="[^"]+"$/);
      }
    }
  });

  it('verifies a bearer header and ignores unrelated query parameters', async () => {
    const token = await issuer.sign();
    await expect(verifier.verifyRequest({ url: '/templates?page=2', authorization: `bearer ${token}` })).resolves.toMatchObject({
      client_id: 'int_client',
    });
  });

  it('answers a missing scope 403 insufficient_scope naming every scope needed', async () => {
    const claims = await verifier.verify(await issuer.sign({ scope: 'templates:read' }));
    expect(() => verifier.assertScopes(claims, ['templates:read'])).not.toThrow();
    let error: unknown;
    try {
      verifier.assertScopes(claims, ['templates:read', 'templates:write']);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AccessTokenError);
    const scopeError = error as AccessTokenError;
    expect(scopeError.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(scopeError.statusCode).toBe(403);
    expect(scopeError.wwwAuthenticate).toBe(
      `Bearer realm="${AUDIENCE}", error="insufficient_scope", ` +
        'error_description="the access token lacks a scope this request needs: templates:read templates:write", ' +
        'scope="templates:read templates:write"',
    );
    expect(scopeError.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'the access token lacks a scope this request needs: templates:read templates:write',
      scope: 'templates:read templates:write',
    });
  });
});

describe('verifyAccessToken', () => {
  it('accepts a verifier', async () => {
    await expect(verifyAccessToken(await issuer.sign(), verifier)).resolves.toMatchObject({ sub: 'int_client' });
  });

  it('keeps one verifier per options object', async () => {
    const options: VerifierOptions = { issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate };
    await verifyAccessToken(await issuer.sign(), options);
    await verifyAccessToken(await issuer.sign(), options);
    expect(issuer.jwksHits).toBe(1);
  });
});

describe('createVerifier: misuse', () => {
  it.each([
    ['an HMAC algorithm', { algorithms: ['HS256'] }],
    ['alg none', { algorithms: ['none'] }],
    ['an empty algorithm list', { algorithms: [] }],
    ['a relative issuer', { issuer: '/oauth' }],
    ['no audience', { audience: [] }],
    ['a negative tolerance', { clockToleranceSeconds: -1 }],
    ['a fractional cache size', { cacheSize: 1.5 }],
    ['a realm with a quote', { realm: 'a"b' }],
  ])('throws TypeError for %s', (_name, options) => {
    expect(() => makeVerifier(options as Partial<VerifierOptions>)).toThrow(TypeError);
  });
});

afterEach(() => {
  issuer.now = Date.UTC(2030, 0, 1);
  verifier.close();
});
