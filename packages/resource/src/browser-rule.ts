import type { AccessTokenClaims } from './claims.ts';
import { AccessTokenError } from './errors.ts';

// The browser rule: "Integrations that generate tokens with more than read-only permissions should
// never be leaked to the front-end." A request with an `Origin` header comes from a browser
// (browsers add it to every cross-origin request and to same-origin ones that are not GET/HEAD;
// server-side HTTP clients do not send it). If its token can write, the token has already leaked:
// refuse, and say why, so the mistake is found in development rather than in an incident report.
// The same rule and wording as Latchkey's own Environment API (server environment-api/browser-guard.ts).

// A scope we may name in the description: RFC 6749 §3.3 scope-token, which never holds `"` or `\`.
const NAMEABLE_SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;

/** The token's scopes that allow changes (`…:write`). */
export function writeScopesOf(claims: Pick<AccessTokenClaims, 'scope'>): string[] {
  return claims.scope.split(' ').filter((scope) => scope.endsWith(':write'));
}

/**
 * Throws ERR_WRITE_TOKEN_IN_BROWSER (403 `write_token_in_browser`) when a request that carries an
 * `Origin` header presents a token with a write scope. `origin` is the header value, if any.
 *
 * @example
 * assertNoWriteTokenInBrowser(request.headers.origin, claims, verifier.realm);
 */
export function assertNoWriteTokenInBrowser(origin: unknown, claims: Pick<AccessTokenClaims, 'scope'>, realm?: string): void {
  if (origin === undefined || origin === '') return;
  const writeScopes = writeScopesOf(claims);
  if (writeScopes.length === 0) return;
  const named = writeScopes.filter((scope) => NAMEABLE_SCOPE.test(scope)).slice(0, 10);
  throw new AccessTokenError('ERR_WRITE_TOKEN_IN_BROWSER', {
    realm,
    description:
      'tokens with write permissions must never reach the front-end. ' +
      `This request comes from a browser (it has an Origin header) and its token carries ${named.length === 0 ? 'a write scope' : named.join(', ')}. ` +
      'Keep write tokens on your backend, and give the page a short-lived read-only browser token (token exchange) instead.',
  });
}

/** When the browser rule may be relaxed: always (`true`), never (`false`), or per request. */
export type AllowWriteTokensInBrowser<Request> = boolean | ((request: Request) => boolean);
