import { afterAll, describe, expect, it } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import { compactVerify, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { signCompactJws } from './compact-jws.ts';
import { SigningThreads } from './signing-thread.ts';

// Sealing is part of signing (compact-jws.ts); these tests look at the token only.
const sealing = { key: Buffer.alloc(32, 3), context: 'token:test' };

describe('signCompactJws', () => {
  const threads = new SigningThreads(1);
  afterAll(() => threads.close());

  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    it(`produces ${alg} tokens that jose verifies`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      const key = createPrivateKey({ key: (await exportJWK(privateKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
      const token = (await signCompactJws({ alg, typ: 'at+jwt', kid: 'k1' }, { iss: 'https://issuer', sub: 'c', aud: 'api', exp: 4102444800, iat: 1 }, key, sealing, threads)).token;
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { issuer: 'https://issuer', audience: 'api', typ: 'at+jwt', algorithms: [alg] });
      expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: 'k1' });
      expect(payload.sub).toBe('c');
    });
  }

  it('fails verification when a byte of the payload changes', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const key = createPrivateKey({ key: (await exportJWK(privateKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
    const [h, p, s] = (await signCompactJws({ alg: 'ES256' }, { scope: 'read' }, key, sealing, threads)).token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ scope: 'write' })).toString('base64url')}.${s}`;
    await expect(compactVerify(tampered, publicKey)).rejects.toThrow();
    expect(p).not.toBe(tampered.split('.')[1]);
  });

  it('refuses an algorithm it does not implement', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = createPrivateKey({ key: (await exportJWK(privateKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
    await expect(signCompactJws({ alg: 'HS256' }, {}, key, sealing, threads)).rejects.toThrow(TypeError);
  });
});
