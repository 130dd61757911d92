import { randomBytesPooled } from '../support/random-pool.ts';
import { signCompactJws } from '../keys/compact-jws.ts';
import type { Sealing } from '../keys/signing-thread.ts';
import type { Signer } from '../keys/key-store.ts';

/** Everything that goes into one access token. */
export interface AccessTokenClaims {
  issuer: string;
  audience: string;
  clientId: string;
  environmentId: string;
  scopes: readonly string[];
}

/** A signed token, its id, and when it was issued and expires (ms epoch, whole seconds). */
export interface MintedToken {
  token: string;
  /** The `jti` claim, so a revoked token can be found in the token cache. */
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/** A freshly minted token, and the same token sealed for storage (keys/sealed-box.ts). */
export interface SealedMintedToken extends MintedToken {
  sealed: string;
}

/**
 * Signs an RFC 9068 JWT access token: header `typ: at+jwt` and `kid`; claims iss, sub (the client),
 * client_id, aud, iat, exp, jti, scope and Latchkey's `environment`. It comes back sealed with
 * `sealing` as well, for the token cache to store.
 *
 * `notBefore` (NumericDate seconds) is the client's revocation time: every token issued before it is
 * revoked, tested as `iat < notBefore`. A token minted in the very second of a revocation would have
 * `iat` = that second and look revoked, so its `iat` is raised to `notBefore` (less than a second
 * ahead; verifiers allow seconds of skew), and its lifetime counts from there.
 */
export async function mintAccessToken(signer: Signer, claims: AccessTokenClaims, now: number, ttlSeconds: number, sealing: Sealing, notBefore = 0): Promise<SealedMintedToken> {
  const iat = Math.max(Math.floor(now / 1000), notBefore);
  const exp = iat + ttlSeconds;
  const jti = randomBytesPooled(16).toString('base64url');
  // Claim order follows RFC 9068 §2.2; `environment` is Latchkey's.
  const { token, sealed } = await signCompactJws(
    { alg: signer.alg, typ: 'at+jwt', kid: signer.kid },
    {
      iss: claims.issuer,
      sub: claims.clientId,
      aud: claims.audience,
      exp,
      iat,
      jti,
      client_id: claims.clientId,
      scope: claims.scopes.join(' '),
      environment: claims.environmentId,
    },
    signer.privateKey,
    sealing,
    signer.threads,
  );
  return { token, jti, issuedAt: iat * 1000, expiresAt: exp * 1000, sealed };
}
