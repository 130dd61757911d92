import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createVerifier, type AccessTokenClaims, type AccessTokenVerifier } from '@latchkey/resource';
import type { Config } from '../config/load-config.ts';
import type { Clock } from '../support/clock.ts';
import type { RevocationList } from '../platform/revocation-list.ts';
import type { ActionContext } from '../platform/audit.ts';
import { findAdminById, type Admin } from '../platform/admins.ts';
import type { Integration, IntegrationDeps } from '../platform/integrations.ts';
import { loadSession, type Session, type SessionPolicy } from '../platform/sessions.ts';
import { checkTokenHolder } from '../platform/token-holders.ts';
import { createInjectFetch } from '../support/inject-fetch.ts';
import { HttpProblem } from '../support/problem.ts';

/** Who is calling the Platform API: a signed-in admin, or an integration with a Platform API token. */
export type Principal =
  | { kind: 'admin'; admin: Admin; session: Session; cookieValue: string }
  | { kind: 'integration'; claims: AccessTokenClaims; scopes: Set<string> };

/** What a route needs in an environment. */
export type EnvironmentPermission = 'read' | 'write' | 'audit';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the platform auth hook; null when the request carries no credentials. */
    principal: Principal | null;
  }
}

/** What Platform API authentication uses. */
export interface PlatformAuthDeps {
  config: Pick<Config, 'issuer' | 'platformApiAudience'>;
  clock: Clock;
  /** This server's own revocation list: a revocation made here is refused by the very next request. */
  revocations: RevocationList;
  /** The domain's dependencies: sessions, admins and token holders are looked up through them. */
  platform: IntegrationDeps;
}

/** Name of the console session cookie. */
export const SESSION_COOKIE = 'latchkey_session';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const REALM = 'latchkey-platform-api';

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The verifier of Platform API tokens, built exactly as a third-party API's would be (metadata → JWKS
 * → jose), its requests injected into this app rather than sent over a socket.
 */
export function createPlatformApiVerifier(app: FastifyInstance, deps: Pick<PlatformAuthDeps, 'config' | 'clock' | 'revocations'>): AccessTokenVerifier {
  return createVerifier({
    issuer: deps.config.issuer,
    audience: deps.config.platformApiAudience,
    jwksUri: `${deps.config.issuer}/.well-known/jwks.json`,
    fetch: createInjectFetch(app, deps.config.issuer),
    realm: REALM,
    currentDate: () => new Date(deps.clock.now()),
    // This server's own revocation list: a revocation made here is refused by the very next request.
    revocation: { source: deps.revocations },
  });
}

/** 401 invalid_token for a verified token that no longer speaks for its integration (RFC 6750 §3.1). */
function revokedAuthority(reason: string): HttpProblem {
  return new HttpProblem(401, 'invalid_token', reason, { 'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${reason}"` });
}

/**
 * Verifies a Platform API bearer token and checks it against live state on every request: the token
 * is refused (401 invalid_token) once revoked, or once its integration is deleted, disabled, or no
 * longer granted the Platform API. The Platform API can create credentials, so it never trusts a
 * token on its signature alone. Returns the claims and the scopes the token may still use.
 */
export async function authenticatePlatformToken(deps: Pick<PlatformAuthDeps, 'platform'>, verifier: AccessTokenVerifier, authorization: string, url?: string): Promise<{ claims: AccessTokenClaims; scopes: Set<string> }> {
  // A revoked token is refused by the verifier (ERR_TOKEN_REVOKED), fed by this server's revocation list.
  const claims = await verifier.verifyRequest({ authorization, url });
  const holder = await checkTokenHolder(deps.platform.database, claims, 'platform-api');
  if (!holder.live) throw revokedAuthority(holder.reason);
  return { claims, scopes: holder.scopes };
}

/**
 * Resolves the caller of every Platform API request. A bearer token is verified with
 * @latchkey/resource for the Platform API audience (any token problem is an RFC 6750 answer) and
 * checked against live state (authenticatePlatformToken); otherwise the session cookie is looked up.
 * Cookie-authenticated requests that change state must carry the session's CSRF token in
 * `X-CSRF-Token` (synchronizer token; SameSite=Strict is the second layer).
 */
export function createPlatformAuthHook(deps: PlatformAuthDeps, verifier: AccessTokenVerifier, policy: SessionPolicy) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.principal = null;
    // Only a Bearer credential is a token; any other scheme (say, Basic added by a proxy in front of
    // the console) leaves the session cookie in charge.
    if (request.headers.authorization !== undefined && /^bearer\s/i.test(request.headers.authorization)) {
      const { claims, scopes } = await authenticatePlatformToken(deps, verifier, request.headers.authorization, request.url);
      request.principal = { kind: 'integration', claims, scopes };
      return;
    }
    const cookieValue = request.cookies?.[SESSION_COOKIE];
    if (!cookieValue) return;
    const session = await loadSession(deps.platform.database, deps.clock, policy, cookieValue);
    if (!session) return;
    const admin = await findAdminById(deps.platform, session.adminId);
    if (!admin) return;
    // Signing in again (switching accounts) while a session is live needs no CSRF token: the
    // request carries the credentials itself.
    if (STATE_CHANGING.has(request.method) && !(request.method === 'POST' && request.routeOptions.url === '/api/v1/session')) {
      const header = request.headers['x-csrf-token'];
      if (typeof header !== 'string' || !sameToken(header, session.csrfToken)) {
        throw new HttpProblem(403, 'csrf_token_invalid', 'this request changes state and needs the X-CSRF-Token header from GET /api/v1/session');
      }
    }
    request.principal = { kind: 'admin', admin, session, cookieValue };
  };
}

/** What a session signed in with a temporary password may still do: look at itself, sign out, set a new password. */
const ALLOWED_WITH_TEMPORARY_PASSWORD = new Set(['GET /api/v1/session', 'DELETE /api/v1/session', 'PUT /api/v1/session/password']);

/**
 * A temporary password (generated on first run, printed to a terminal) buys one thing: choosing a
 * new one. Until then every other call of that admin's sessions is refused, as Auth0 and Keycloak do.
 */
function refuseUntilPasswordChanged(request: FastifyRequest): void {
  const principal = request.principal;
  if (principal?.kind !== 'admin' || !principal.admin.passwordChangeRequired) return;
  if (ALLOWED_WITH_TEMPORARY_PASSWORD.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return;
  throw new HttpProblem(403, 'password_change_required', 'you signed in with a temporary password: set a new one first (PUT /api/v1/session/password)');
}

/** The caller, or 401 with a challenge naming both ways in. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal) return request.principal;
  throw new HttpProblem(401, 'unauthenticated', 'sign in to the console, or send a Platform API access token as Authorization: Bearer <token>', {
    'www-authenticate': `Bearer realm="${REALM}"`,
  });
}

const SCOPES_FOR: Record<EnvironmentPermission, string[]> = {
  // Either integrations scope lets an integration read its own environment's integrations.
  read: ['integrations:read', 'integrations:write'],
  write: ['integrations:write'],
  audit: ['audit:read'],
};

/**
 * Checks that the caller may act in `environmentId`. Admins need a role there (viewers read,
 * admins also write); integrations need a token of that very environment with the right scope.
 */
export function authorizeEnvironment(request: FastifyRequest, environmentId: string, permission: EnvironmentPermission): Principal {
  const principal = requirePrincipal(request);
  if (principal.kind === 'admin') {
    if (principal.admin.platformAdmin) return principal;
    const role = principal.admin.environments[environmentId];
    if (!role) throw new HttpProblem(403, 'forbidden', `you have no role in environment ${environmentId}`);
    if (permission === 'write' && role !== 'admin') throw new HttpProblem(403, 'forbidden', `viewers cannot make changes in environment ${environmentId}; ask an admin of it`);
    return principal;
  }
  if (principal.claims.environment !== environmentId) {
    throw new HttpProblem(403, 'wrong_environment', `this token belongs to environment ${String(principal.claims.environment)}, not ${environmentId}`);
  }
  const accepted = SCOPES_FOR[permission];
  if (!accepted.some((scope) => principal.scopes.has(scope))) {
    throw new HttpProblem(403, 'insufficient_scope', `this request needs the ${accepted[0]} scope`, {
      'www-authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${accepted[0]}"`,
    });
  }
  return principal;
}

/** Only platform admins (not environment admins, not integrations) may manage environments and admins. */
export function requirePlatformAdmin(request: FastifyRequest): Principal {
  const principal = requirePrincipal(request);
  if (principal.kind === 'admin' && principal.admin.platformAdmin) return principal;
  throw new HttpProblem(403, 'forbidden', 'only platform admins can do this');
}

/** The audit context of a request: its actor and source address. */
export function actionContext(request: FastifyRequest): ActionContext {
  const principal = requirePrincipal(request);
  const actor =
    principal.kind === 'admin'
      ? ({ type: 'admin', id: principal.admin.id, email: principal.admin.email } as const)
      : ({ type: 'integration', id: principal.claims.client_id, environmentId: String(principal.claims.environment) } as const);
  return { actor, ip: request.ip };
}

/** What a Platform API route requires of its caller. */
export type RouteAccess = 'public' | 'authenticated' | 'platform' | EnvironmentPermission;

const PUBLIC_ROUTES = new Set(['POST /api/v1/session', 'GET /api/v1/apis', 'GET /api/v1/environments/:environmentId/openapi.json']);
const PLATFORM_ROUTES = new Set(['POST /api/v1/environments', 'PATCH /api/v1/environments/:environmentId', 'DELETE /api/v1/environments/:environmentId', 'GET /api/v1/audit']);

/**
 * The access rule of a Platform API route, in one table: public routes, platform-admin routes, and
 * everything under an environment (reads need read, the audit log needs audit, the rest write).
 */
export function routeAccess(method: string, url: string): RouteAccess {
  const route = `${method} ${url}`;
  if (PUBLIC_ROUTES.has(route)) return 'public';
  if (PLATFORM_ROUTES.has(route)) return 'platform';
  if (url === '/api/v1/environments/:environmentId/audit') return 'audit';
  if (url.startsWith('/api/v1/environments/:environmentId')) return method === 'GET' ? 'read' : 'write';
  return 'authenticated';
}

/**
 * Checks the caller against the route's access rule before the body is validated, so an anonymous
 * or unauthorised caller learns nothing about request shapes (401/403 come before any 400).
 */
export async function enforceRouteAccess(request: FastifyRequest): Promise<void> {
  const access = routeAccess(request.method, request.routeOptions.url ?? '');
  if (access === 'public') return;
  refuseUntilPasswordChanged(request);
  if (access === 'authenticated') {
    requirePrincipal(request);
    return;
  }
  if (access === 'platform') {
    requirePlatformAdmin(request);
    return;
  }
  const environmentId = (request.params as { environmentId?: string }).environmentId ?? '';
  authorizeEnvironment(request, environmentId, access);
}

/**
 * Takeover protection for an integration acting through the Platform API (admins are not limited
 * here: their role already allows everything in the environment). It cannot change its own status
 * (disable, enable, delete itself: an incident responder's disable must stick), and it cannot change,
 * rotate or revoke the secrets of, revoke the tokens of, or delete an integration that holds a
 * Platform API scope it does not hold itself — otherwise integrations:write could rotate the secret of
 * an audit:read integration and use that.
 */
export function refuseTakeover(request: FastifyRequest, target: Integration, options: { changesStatus?: boolean } = {}): void {
  const principal = requirePrincipal(request);
  if (principal.kind !== 'integration') return;
  if (options.changesStatus === true && target.clientId === principal.claims.client_id) {
    throw new HttpProblem(403, 'own_status', 'an integration cannot disable, enable or delete itself; an environment admin can');
  }
  const missing = (target.grants['platform-api'] ?? []).filter((scope) => !principal.scopes.has(scope));
  if (missing.length > 0) {
    throw new HttpProblem(
      403,
      'scope_escalation',
      `integration ${target.clientId} holds Platform API scopes this token does not (${missing.join(', ')}); only an environment admin or an integration holding them can change it, its secrets or its tokens`,
    );
  }
}

/**
 * An integration may manage its environment's integrations, but not hand out Platform API scopes it
 * does not hold itself (an integrations:write token must not mint itself audit:read). Admins are not
 * limited here: their role already allows everything in the environment.
 */
export function refuseScopeEscalation(request: FastifyRequest, platformScopes: readonly string[] | undefined): void {
  const principal = requirePrincipal(request);
  if (principal.kind !== 'integration' || !platformScopes) return;
  const missing = platformScopes.filter((scope) => !principal.scopes.has(scope));
  if (missing.length > 0) {
    throw new HttpProblem(403, 'scope_escalation', `an integration cannot grant Platform API scopes it does not hold: ${missing.join(', ')}`);
  }
}
