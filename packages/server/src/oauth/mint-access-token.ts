import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Signer } from '../keys/key-store.ts';

/** Everything that goes into one access token. */
export interface AccessTokenClaims {
  issuer: string;
  audience: string;
  clientId: string;
  environmentId: string;
  scopes: readonly string[];
}

/** A signed token and when it expires (ms epoch, whole seconds). */
export interface MintedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Signs an RFC 9068 JWT access token: header `typ: at+jwt` and `kid`; claims iss, sub (the client),
 * client_id, aud, iat, exp, jti, scope and Latchkey's `environment`.
 */
export async function mintAccessToken(signer: Signer, claims: AccessTokenClaims, now: number, ttlSeconds: number): Promise<MintedToken> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({
    client_id: claims.clientId,
    scope: claims.scopes.join(' '),
    environment: claims.environmentId,
  })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
    .setIssuer(claims.issuer)
    .setSubject(claims.clientId)
    .setAudience(claims.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(signer.privateKey);
  return { token, issuedAt: iat * 1000, expiresAt: exp * 1000 };
}
