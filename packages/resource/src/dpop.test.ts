import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryDpopReplayStore, DpopProofError, verifyDpopProof } from './dpop.ts';
import type { VerifyDpopProofOptions } from './dpop.ts';
import * as entry from './index.ts';

const NOW = Date.UTC(2030, 0, 1);
const URL_ = 'https://api.example.com/templates';

interface Holder {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly privateJwk: JWK;
}

async function holder(alg = 'ES256'): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

let es: Holder;
let other: Holder;

beforeAll(async () => {
  es = await holder('ES256');
  other = await holder('ES256');
});

let counter = 0;
/** A proof with sensible defaults; `claims`/`header` override (undefined removes). */
async function proof(
  options: { key?: Holder; claims?: Record<string, unknown>; header?: Record<string, unknown>; alg?: string; signWith?: CryptoKey } = {},
): Promise<string> {
  const key = options.key ?? es;
  const payload: Record<string, unknown> = { jti: `jti-${++counter}`, htm: 'GET', htu: URL_, iat: NOW / 1000, ...options.claims };
  const header: Record<string, unknown> = { typ: 'dpop+jwt', alg: options.alg ?? 'ES256', jwk: key.jwk, ...options.header };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(options.signWith ?? key.privateKey);
}

function verify(proofValue: string, overrides: Partial<VerifyDpopProofOptions> = {}) {
  return verifyDpopProof({ proof: proofValue, method: 'GET', url: URL_, now: NOW, replay: createMemoryDpopReplayStore({ now: () => NOW }), ...overrides });
}

async function refusal(promise: Promise<unknown>): Promise<DpopProofError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DpopProofError);
  const dpopError = error as DpopProofError;
  expect(dpopError.code).toBe('invalid_dpop_proof');
  // The message goes into a WWW-Authenticate quoted-string: printable ASCII, no quote or backslash.
  expect(dpopError.message).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  return dpopError;
}

const ath = (token: string) => base64url.encode(createHash('sha256').update(token).digest());

describe('verifyDpopProof', () => {
  it('accepts a valid proof and returns the RFC 7638 thumbprint of its key', async () => {
    const result = await verify(await proof({ claims: { jti: 'one' } }));
    expect(result).toEqual({ jkt: await calculateJwkThumbprint(es.jwk, 'sha256'), jti: 'one', iat: NOW / 1000 });
  });

  it('accepts the default algorithms: RS256, PS256, EdDSA, ES384', async () => {
    for (const alg of ['RS256', 'PS256', 'EdDSA', 'ES384']) {
      const key = await holder(alg);
      const result = await verify(await proof({ key, alg }));
      expect(result.jkt).toBe(await calculateJwkThumbprint(key.jwk, 'sha256'));
    }
  });

  it('keeps each key apart when several sign in turn (imported keys are remembered): right thumbprints, and a header key that did not sign is refused', async () => {
    for (let round = 0; round < 3; round++) {
      for (const key of [es, other]) {
        expect((await verify(await proof({ key }))).jkt).toBe(await calculateJwkThumbprint(key.jwk, 'sha256'));
      }
    }
    // Both keys are remembered now: a proof naming one and signed by the other still fails.
    const error = await refusal(verify(await proof({ key: es, signWith: other.privateKey })));
    expect(error.message).toMatch(/signature/);
    // The same x with another key's y is another key, not the remembered one.
    const mixed = { ...es.jwk, y: other.jwk.y };
    await refusal(verify(await proof({ key: { ...es, jwk: mixed } })));
  });

  it('is exported from the package entry point', () => {
    expect(entry.verifyDpopProof).toBe(verifyDpopProof);
    expect(entry.DpopProofError).toBe(DpopProofError);
    expect(entry.createMemoryDpopReplayStore).toBe(createMemoryDpopReplayStore);
  });

  it('refuses a wrong or missing typ', async () => {
    expect((await refusal(verify(await proof({ header: { typ: 'JWT' } })))).message).toMatch(/typ must be dpop\+jwt/);
    expect((await refusal(verify(await proof({ header: { typ: 'at+jwt' } })))).message).toMatch(/typ/);
    await refusal(verify(await proof({ header: { typ: undefined } })));
    // Media type comparison is case-insensitive, with an optional application/ prefix.
    await expect(verify(await proof({ header: { typ: 'application/DPoP+JWT' } }))).resolves.toHaveProperty('jkt');
  });

  it('refuses a symmetric algorithm and alg none', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-that-proves-nothing-about-a-key');
    const hs = await new SignJWT({ jti: 'x', htm: 'GET', htu: URL_, iat: NOW / 1000 })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: base64url.encode(secret) } as JWK })
      .sign(secret);
    expect((await refusal(verify(hs))).message).toMatch(/asymmetric/);
    const [, body] = (await proof()).split('.');
    const none = `${base64url.encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: es.jwk }))}.${body}.`;
    await refusal(verify(none));
    const noneWithSignature = `${base64url.encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: es.jwk }))}.${body}.AAAA`;
    expect((await refusal(verify(noneWithSignature))).message).toMatch(/asymmetric/);
  });

  it('refuses an algorithm outside the accepted list', async () => {
    const key = await holder('ES512');
    expect((await refusal(verify(await proof({ key, alg: 'ES512' })))).message).toMatch(/does not accept/);
    await expect(verify(await proof({ key, alg: 'ES512' }), { algorithms: ['ES512'] })).resolves.toHaveProperty('jkt');
    await expect(verify(await proof(), { algorithms: ['HS256'] })).rejects.toThrow(TypeError);
  });

  it('refuses private key material in the header jwk', async () => {
    const error = await refusal(verify(await proof({ header: { jwk: es.privateJwk } })));
    expect(error.message).toMatch(/private key material/);
    const rsa = await holder('RS256');
    await refusal(verify(await proof({ key: rsa, alg: 'RS256', header: { jwk: rsa.privateJwk } })));
  });

  it('refuses a missing or non-object jwk, and a symmetric key type', async () => {
    expect((await refusal(verify(await proof({ header: { jwk: undefined } })))).message).toMatch(/no jwk/);
    await refusal(verify(await proof({ header: { jwk: 'key' } })));
    await refusal(verify(await proof({ header: { jwk: { kty: 'oct' } } })));
  });

  it('refuses a bad signature: signed by another key than the header jwk, or tampered with', async () => {
    expect((await refusal(verify(await proof({ signWith: other.privateKey })))).message).toMatch(/signature/);
    const good = await proof();
    const [header, , signature] = good.split('.');
    const tampered = `${header}.${base64url.encode(JSON.stringify({ jti: 'z', htm: 'POST', htu: URL_, iat: NOW / 1000 }))}.${signature}`;
    await refusal(verify(tampered));
    // A jwk whose curve does not fit the alg does not import: the same refusal.
    await refusal(verify(await proof({ header: { jwk: { ...es.jwk, crv: 'P-384' } } })));
  });

  it('refuses an htm that is not the request method', async () => {
    expect((await refusal(verify(await proof({ claims: { htm: 'POST' } })))).message).toMatch(/htm/);
    // Methods are case-sensitive (RFC 9110 §9.1).
    await refusal(verify(await proof({ claims: { htm: 'get' } })));
    await expect(verify(await proof({ claims: { htm: 'POST' } }), { method: 'POST' })).resolves.toHaveProperty('jkt');
  });

  it('refuses an htu for another URL, ignoring query and fragment and normalizing case, default port and encoding', async () => {
    expect((await refusal(verify(await proof({ claims: { htu: 'https://api.example.com/projects' } })))).message).toMatch(/htu/);
    await refusal(verify(await proof({ claims: { htu: 'http://api.example.com/templates' } })));
    await refusal(verify(await proof({ claims: { htu: 'https://evil.example/templates' } })));
    await refusal(verify(await proof({ claims: { htu: 'https://api.example.com:8443/templates' } })));
    await refusal(verify(await proof({ claims: { htu: 'https://api.example.com/Templates' } })));
    await refusal(verify(await proof({ claims: { htu: 'not a url' } })));
    await refusal(verify(await proof({ claims: { htu: 'ftp://api.example.com/templates' } })));
    const equivalent = [
      'https://api.example.com/templates?page=2',
      'https://api.example.com/templates#top',
      'HTTPS://API.Example.COM/templates',
      'https://api.example.com:443/templates',
      'https://api.example.com/%74emplates',
      'https://api.example.com/a/../templates',
    ];
    for (const htu of equivalent) {
      await expect(verify(await proof({ claims: { htu } }), { url: `${URL_}?q=1` }), htu).resolves.toHaveProperty('jkt');
    }
    await expect(verify(await proof({ claims: { htu: 'http://127.0.0.1/x%2fy' } }), { url: 'http://127.0.0.1:80/x%2Fy' })).resolves.toHaveProperty('jkt');
    await expect(verify(await proof({ claims: { htu: 'http://127.0.0.1:8080/' } }), { url: 'http://127.0.0.1:8080' })).resolves.toHaveProperty('jkt');
  });

  it('refuses an iat too old or in the future, within the skew', async () => {
    expect((await refusal(verify(await proof({ claims: { iat: NOW / 1000 - 66 } })))).message).toMatch(/too old/);
    expect((await refusal(verify(await proof({ claims: { iat: NOW / 1000 + 6 } })))).message).toMatch(/future/);
    await expect(verify(await proof({ claims: { iat: NOW / 1000 - 64 } }))).resolves.toHaveProperty('jkt');
    await expect(verify(await proof({ claims: { iat: NOW / 1000 + 4 } }))).resolves.toHaveProperty('jkt');
    await refusal(verify(await proof({ claims: { iat: NOW / 1000 - 20 } }), { maxAgeSeconds: 10 }));
    await refusal(verify(await proof({ claims: { iat: String(NOW / 1000) } })));
  });

  it('refuses a replayed jti, and does not burn the jti of a refused proof', async () => {
    const replay = createMemoryDpopReplayStore({ now: () => NOW });
    const value = await proof({ claims: { jti: 'once' } });
    await verify(value, { replay });
    expect((await refusal(verify(value, { replay }))).message).toMatch(/used before/);
    // A fresh proof with the same jti from the same key is a replay too.
    await refusal(verify(await proof({ claims: { jti: 'once' } }), { replay }));
    // Another key's jti space is its own.
    await expect(verify(await proof({ key: other, claims: { jti: 'once' } }), { replay })).resolves.toHaveProperty('jti', 'once');
    // A proof refused for its htm is not recorded: the right request with that jti still works.
    const wrongMethod = await proof({ claims: { jti: 'second', htm: 'DELETE' } });
    await refusal(verify(wrongMethod, { replay }));
    await expect(verify(await proof({ claims: { jti: 'second' } }), { replay })).resolves.toHaveProperty('jti', 'second');
  });

  it('checks ath when an access token is given', async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    await expect(verify(await proof({ claims: { ath: ath(token) } }), { accessToken: token })).resolves.toHaveProperty('jkt');
    expect((await refusal(verify(await proof(), { accessToken: token }))).message).toMatch(/no ath/);
    expect((await refusal(verify(await proof({ claims: { ath: ath('another-token') } }), { accessToken: token }))).message).toMatch(/ath does not match/);
    await refusal(verify(await proof({ claims: { ath: 42 } }), { accessToken: token }));
  });

  it('refuses missing claims and a non-object payload', async () => {
    for (const claim of ['jti', 'htm', 'htu', 'iat']) {
      expect((await refusal(verify(await proof({ claims: { [claim]: undefined } })))).message).toContain(claim);
    }
    await refusal(verify(await proof({ claims: { jti: 'x'.repeat(257) } })));
    const [header] = (await proof()).split('.');
    await refusal(verify(`${header}.${base64url.encode('[1,2]')}.AAAA`));
  });

  it('refuses garbage with a DpopProofError', async () => {
    for (const garbage of ['', 'abc', 'a.b', 'a.b.c', '...', 'a.b.c.d.e', '💥.💥.💥', 'x'.repeat(9000), `${base64url.encode('{"typ":')}.e30.AAAA`]) {
      await refusal(verify(garbage));
    }
    await refusal(verify(undefined as unknown as string));
  });

  it('property: any string is refused with a DpopProofError, never anything else', async () => {
    const replay = createMemoryDpopReplayStore({ now: () => NOW });
    const header = base64url.encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: es.jwk }));
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
          fc.tuple(fc.json(), fc.json()).map(([h, p]) => `${base64url.encode(h)}.${base64url.encode(p)}.AAAA`),
          fc.tuple(fc.json(), segment).map(([p, s]) => `${header}.${base64url.encode(p)}.${s}`),
        ),
        async (value) => {
          const error = await verifyDpopProof({ proof: value, method: 'GET', url: URL_, now: NOW, replay }).then(
            () => undefined,
            (caught: unknown) => caught,
          );
          expect(error).toBeInstanceOf(DpopProofError);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('createMemoryDpopReplayStore', () => {
  it('refuses a jti until it expires, then accepts it again', () => {
    let now = 1000;
    const store = createMemoryDpopReplayStore({ now: () => now });
    expect(store.useOnce('a', 2000)).toBe(true);
    expect(store.useOnce('a', 2000)).toBe(false);
    now = 2000;
    expect(store.useOnce('a', 3000)).toBe(true);
  });

  it('stays bounded: drops expired entries first, then the oldest', () => {
    let now = 0;
    const store = createMemoryDpopReplayStore({ maxEntries: 2, now: () => now });
    expect(store.useOnce('old', 10)).toBe(true);
    expect(store.useOnce('live', 100)).toBe(true);
    now = 20;
    expect(store.useOnce('new', 100)).toBe(true);
    expect(store.useOnce('live', 100)).toBe(false);
    expect(store.useOnce('new', 100)).toBe(false);
    expect(store.useOnce('newest', 100)).toBe(true);
    // 'live' was the oldest live entry and made room.
    expect(store.useOnce('live', 100)).toBe(true);
    expect(() => createMemoryDpopReplayStore({ maxEntries: 0 })).toThrow(TypeError);
  });
});
