import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseScope, type AccessTokenClaims } from '@latchkey/resource';
import { HttpProblem } from '../support/problem.ts';
import type { EnvironmentAccess } from './browser-settings.ts';

// The browser guard turns the seed's rule into behaviour: "Integrations that generate tokens with
// more than read-only permissions should never be leaked to the front-end." A request that carries
// an `Origin` header comes from a browser (browsers add it to every cross-origin request and to
// same-origin ones that are not GET/HEAD; server-side HTTP clients do not send it). If its token
// could write, the token has already leaked: refuse, and say why, so the mistake is found in
// development instead of in an incident report.
//
// CORS is hand-written rather than @fastify/cors: it applies to two route families only (GET of
// media and fonts), its allow-list is per environment and read from the database, and the preflight
// must be answered before authentication. That is a dozen lines here, against a plugin whose
// per-request options would need the same lookups anyway.

/** The `Origin` a browser sent, or undefined for a non-browser client. */
export function browserOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin !== '' ? origin : undefined;
}

/** The token's scopes that allow changes (`…:write`). */
export function writeScopesOf(claims: Pick<AccessTokenClaims, 'scope'>): string[] {
  return parseScope(claims.scope).filter((scope) => scope.endsWith(':write'));
}

/**
 * Refuses (403 `write_token_in_browser`) a browser request whose token carries a write scope,
 * unless the environment relaxed the rule. Applies to every route and method, whatever CORS allows.
 */
export function assertNoWriteTokenInBrowser(request: FastifyRequest, claims: AccessTokenClaims, access: EnvironmentAccess): void {
  if (access.allowWriteTokensInBrowser || browserOrigin(request) === undefined) return;
  const writeScopes = writeScopesOf(claims);
  if (writeScopes.length === 0) return;
  throw new HttpProblem(
    403,
    'write_token_in_browser',
    `tokens with write permissions must never reach the front-end; use a read-only integration for the browser. ` +
      `This request comes from a browser (it has an Origin header) and its token carries ${writeScopes.join(', ')}. ` +
      `Keep this integration's credentials and tokens on your backend, and give the page a short-lived read-only browser token (token exchange) or a token of an integration with the Read-only preset.`,
  );
}

/** The browser access of an environment that does not exist: no origin, no write tokens. */
export const NO_BROWSER_ACCESS: EnvironmentAccess = { allowedOrigins: new Set(), allowWriteTokensInBrowser: false };

/** Headers the page may read from a cross-origin response (WWW-Authenticate: what a DPoP client needs to see). */
const EXPOSED_HEADERS = 'ETag, Content-Length, Content-Type, WWW-Authenticate';
/**
 * Request headers a page may send cross-origin: its token (Bearer, or DPoP with the proof in the
 * `DPoP` header, RFC 9449) and a conditional GET.
 */
const ALLOWED_HEADERS = 'Authorization, DPoP, If-None-Match';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Adds the CORS response headers for an allowed origin. `Vary: Origin` is set whether or not the
 * origin is allowed, so a shared cache never serves one origin's answer to another.
 */
export function addCorsHeaders(request: FastifyRequest, reply: FastifyReply, access: EnvironmentAccess | null): void {
  reply.header('vary', 'Origin');
  const origin = browserOrigin(request);
  if (origin === undefined || access === null || !access.allowedOrigins.has(origin)) return;
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', EXPOSED_HEADERS);
}

/**
 * Answers a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) for media and fonts:
 * 204 with the allowed method and headers when the origin is on the environment's list, otherwise a
 * 403 problem (which the browser turns into a CORS failure, and curl shows in full).
 */
export function answerPreflight(request: FastifyRequest, reply: FastifyReply, access: EnvironmentAccess): FastifyReply {
  const origin = browserOrigin(request);
  reply.header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
  if (origin === undefined || !access.allowedOrigins.has(origin)) {
    throw new HttpProblem(
      403,
      'origin_not_allowed',
      `origin ${origin === undefined ? '(none)' : JSON.stringify(origin.slice(0, 200))} may not load this environment's media and fonts; an environment admin can allow it (latchkey environments set-browser-origins)`,
    );
  }
  return reply
    .code(204)
    .header('access-control-allow-origin', origin)
    .header('access-control-allow-methods', 'GET, HEAD')
    .header('access-control-allow-headers', ALLOWED_HEADERS)
    .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS))
    .send();
}
