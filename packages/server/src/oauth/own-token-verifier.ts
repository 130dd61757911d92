import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { KeyStore } from '../keys/key-store.ts';
import type { Clock } from '../support/clock.ts';

/** The claims of an access token this server issued (RFC 9068 §2.2 plus Latchkey's `environment`). */
export interface OwnTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  environment: string;
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  /** Browser tokens only (a token exchange): `browser: true`, the backend that minted it, and the key it is bound to. */
  browser?: true;
  act?: { sub: string };
  cnf?: { jkt: string };
}

/** What verifying this server's own tokens needs. */
export interface OwnTokenVerifierDeps {
  issuer: string;
  keyStore: KeyStore;
  clock: Clock;
}

// Every algorithm this server signs with (keys/jws-signers.ts); never `none` or HMAC.
const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];
// Longer than any token this server issues; anything bigger is not one of them.
const MAX_TOKEN_LENGTH = 4096;

/**
 * Verifies that a string is an unexpired access token this server issued, for any of its APIs, with
 * the keys it publishes (jose, the same checks as RFC 9068 §4 minus the audience). Used by
 * revocation (RFC 7009) and introspection (RFC 7662), which take tokens for every API. Returns null
 * for anything else — garbage, a foreign or forged token, an expired one — and never says which.
 */
export function createOwnTokenVerifier(deps: OwnTokenVerifierDeps): (token: string) => Promise<OwnTokenClaims | null> {
  let publishedBody: string | undefined;
  let getKey: JWTVerifyGetKey | undefined;
  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const now = deps.clock.now();
    const body = deps.keyStore.jwks(now);
    // The JWKS string changes only when keys rotate; rebuild the key set only then.
    if (body !== publishedBody || getKey === undefined) {
      getKey = createLocalJWKSet(JSON.parse(body) as JSONWebKeySet);
      publishedBody = body;
    }
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: deps.issuer,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'aud', 'client_id', 'jti', 'iat', 'exp', 'scope', 'environment'],
        currentDate: new Date(now),
      });
      const { sub, aud, client_id, environment, scope, jti, iat, exp } = payload as Record<string, unknown>;
      const strings = [sub, aud, client_id, environment, scope, jti].every((value) => typeof value === 'string');
      if (!strings || typeof iat !== 'number' || typeof exp !== 'number') return null;
      const claims = { iss: deps.issuer, sub, aud, client_id, environment, scope, jti, iat, exp } as OwnTokenClaims;
      const { browser, act, cnf } = payload as { browser?: unknown; act?: { sub?: unknown }; cnf?: { jkt?: unknown } };
      if (browser === true) claims.browser = true;
      if (typeof act?.sub === 'string') claims.act = { sub: act.sub };
      if (typeof cnf?.jkt === 'string') claims.cnf = { jkt: cnf.jkt };
      return claims;
    } catch {
      return null;
    }
  };
}
