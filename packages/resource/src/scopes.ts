import { AccessTokenError, type AuthScheme } from './errors.ts';
import type { AccessTokenClaims } from './claims.ts';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Splits a space-separated `scope` claim (RFC 9068 §2.2.3, RFC 6749 §3.3) into its scopes.
 *
 * @example
 * parseScope('templates:read media:read'); // ['templates:read', 'media:read']
 */
export function parseScope(scope: string): string[] {
  return scope.split(' ').filter((part) => part !== '');
}

/**
 * Checks a list of required scopes once, where it is declared, so a typo fails at start-up.
 * Throws TypeError for an empty list or a value that is not an RFC 6749 §3.3 scope-token.
 *
 * @example
 * const needed = validateScopes(['templates:write']);
 */
export function validateScopes(scopes: readonly string[]): readonly string[] {
  if (scopes.length === 0) throw new TypeError('at least one scope is required');
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new TypeError(`not a valid scope (RFC 6749 §3.3 scope-token): ${JSON.stringify(scope)}`);
    }
  }
  return Object.freeze([...scopes]);
}

/**
 * True when the token carries every one of the scopes.
 *
 * @example
 * if (hasScopes(claims, ['media:write'])) { ... }
 */
export function hasScopes(claims: Pick<AccessTokenClaims, 'scope'>, required: readonly string[]): boolean {
  const granted = parseScope(claims.scope);
  return required.every((scope) => granted.includes(scope));
}

/**
 * Throws ERR_INSUFFICIENT_SCOPE (403, `error="insufficient_scope"`, `scope="<all required>"`,
 * RFC 6750 §3.1) unless the token carries every one of the scopes.
 *
 * @example
 * assertScopes(request.accessToken, ['templates:write'], 'environment-api');
 */
export function assertScopes(claims: Pick<AccessTokenClaims, 'scope'>, required: readonly string[], realm?: string, challenge?: { scheme: AuthScheme; algs?: readonly string[] | undefined }): void {
  if (hasScopes(claims, required)) return;
  // RFC 6750 §3: the scope attribute lists the scope needed for the resource, not just what is missing.
  const scope = required.join(' ');
  throw new AccessTokenError('ERR_INSUFFICIENT_SCOPE', {
    realm,
    scope,
    description: `the access token lacks a scope this request needs: ${scope}`,
    // A DPoP-bound token came with the DPoP scheme: it is answered with a DPoP challenge (RFC 9449 §7.1).
    ...(challenge ? { scheme: challenge.scheme, algs: challenge.algs } : {}),
  });
}

/** The challenge for a refusal of a request made with `claims`: DPoP for a DPoP-bound token, else Bearer (undefined). */
export function challengeFor(claims: AccessTokenClaims, dpopAlgorithms: readonly string[]): { scheme: AuthScheme; algs: readonly string[] } | undefined {
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  return typeof cnf?.jkt === 'string' ? { scheme: 'DPoP', algs: dpopAlgorithms } : undefined;
}
