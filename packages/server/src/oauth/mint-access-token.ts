import { randomBytesPooled } from '../support/random-pool.ts';
import { signCompactJws, signCompactJwsUnsealed } from '../keys/compact-jws.ts';
import type { Sealing } from '../keys/signing-thread.ts';
import type { Signer } from '../keys/key-store.ts';

/** Everything that goes into one access token. */
export interface AccessTokenClaims {
  issuer: string;
  audience: string;
  clientId: string;
  environmentId: string;
  scopes: readonly string[];
  /**
   * Set for a browser token (a token exchange, grants/token-exchange.ts): the backend that minted it
   * (RFC 8693 §4.1 `act`), and the thumbprint of the browser's key it is bound to (RFC 9449 §6.1
   * `cnf.jkt`), when the exchange carried a DPoP proof.
   */
  browser?: { actor: string; jkt: string | undefined };
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

/** The JOSE header and claims of one access token, and its times and id. */
function accessTokenParts(signer: Signer, claims: AccessTokenClaims, now: number, ttlSeconds: number, notBefore: number) {
  const iat = Math.max(Math.floor(now / 1000), notBefore);
  const exp = iat + ttlSeconds;
  const jti = randomBytesPooled(16).toString('base64url');
  // Claim order follows RFC 9068 §2.2; `environment` is Latchkey's.
  const payload: Record<string, unknown> = {
    iss: claims.issuer,
    sub: claims.clientId,
    aud: claims.audience,
    exp,
    iat,
    jti,
    client_id: claims.clientId,
    scope: claims.scopes.join(' '),
    environment: claims.environmentId,
  };
  if (claims.browser !== undefined) {
    payload.act = { sub: claims.browser.actor };
    payload.browser = true;
    if (claims.browser.jkt !== undefined) payload.cnf = { jkt: claims.browser.jkt };
  }
  return { header: { alg: signer.alg, typ: 'at+jwt', kid: signer.kid }, payload, jti, issuedAt: iat * 1000, expiresAt: exp * 1000 };
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
  const { header, payload, jti, issuedAt, expiresAt } = accessTokenParts(signer, claims, now, ttlSeconds, notBefore);
  const { token, sealed } = await signCompactJws(header, payload, signer.privateKey, sealing, signer.threads);
  return { token, jti, issuedAt, expiresAt, sealed };
}

/**
 * Signs an access token as {@link mintAccessToken} does, unsealed: for a browser token, which is
 * minted for each exchange and never stored in the token cache.
 */
export async function mintUnstoredAccessToken(signer: Signer, claims: AccessTokenClaims, now: number, ttlSeconds: number, notBefore = 0): Promise<MintedToken> {
  const { header, payload, jti, issuedAt, expiresAt } = accessTokenParts(signer, claims, now, ttlSeconds, notBefore);
  const token = await signCompactJwsUnsealed(header, payload, signer.privateKey, signer.threads);
  return { token, jti, issuedAt, expiresAt };
}
