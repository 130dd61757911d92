import type { Logger } from 'pino';
import type { HotPathCaches } from './hot-path-caches.ts';
import { authenticateEndpointClient, NO_STORE_JSON, oauthErrorResponse, toOAuthError, type EndpointClientAuthDeps, type OAuthEndpointRequest, type OAuthEndpointResponse } from './endpoint-support.ts';
import { InvalidRequest, OAuthError } from './errors.ts';
import type { OwnTokenClaims } from './own-token-verifier.ts';
import { readTokenParameters, rejectCredentialsInQuery, type TokenParameters } from './token-request.ts';

/** The Platform API scope an integration needs to introspect tokens. */
export const INTROSPECT_SCOPE = 'tokens:introspect';

/** Who asks: an integration of one environment. */
export interface IntrospectionCaller {
  clientId: string;
  environmentId: string;
}

/** Dependencies of the introspection endpoint. */
export interface IntrospectionEndpointDeps extends EndpointClientAuthDeps {
  logger: Logger;
  /** Where the token's integration is looked up (the client directory, hot-path-caches.ts). */
  clients: Pick<HotPathCaches, 'findClient'>;
  verifyOwnToken: (token: string) => Promise<OwnTokenClaims | null>;
  /** Whether a verified token has been revoked (platform/revocation-list.ts). */
  isRevoked: (claims: OwnTokenClaims) => boolean;
  /**
   * A caller presenting a Platform API bearer token: verified, checked against its integration's live
   * state, and required to carry tokens:introspect. Throws an OAuthError (401/403) otherwise.
   */
  authenticateBearer: (authorization: string) => Promise<IntrospectionCaller>;
}

const INACTIVE: OAuthEndpointResponse = { statusCode: 200, headers: NO_STORE_JSON, body: '{"active":false}' };

class InsufficientScope extends OAuthError {
  constructor() {
    super('insufficient_scope', 403, `introspection needs an integration granted the Platform API scope ${INTROSPECT_SCOPE}`);
  }
}

/**
 * `POST /oauth/introspect` (RFC 7662), for APIs that cannot verify Latchkey's JWTs themselves. The
 * caller is an integration holding the Platform API scope tokens:introspect, authenticated like a
 * client at the token endpoint or with a Platform API bearer token (§2.1 allows both). A token is
 * `active` only if this server issued it, it has not expired, it is not revoked, its integration still
 * exists and is enabled, and it belongs to the caller's own environment; for every other token —
 * garbage, foreign, revoked, expired, another environment's — the answer is `{"active":false}` and
 * nothing else (§2.2), so introspection tells no caller about another tenant.
 */
export function createIntrospectionEndpoint(deps: IntrospectionEndpointDeps): (request: OAuthEndpointRequest) => Promise<OAuthEndpointResponse> {
  const authenticateCaller = async (request: OAuthEndpointRequest, params: TokenParameters): Promise<IntrospectionCaller> => {
    if (request.authorization !== undefined && /^bearer\s/i.test(request.authorization)) return deps.authenticateBearer(request.authorization);
    const { client } = await authenticateEndpointClient(deps, request, params);
    if (!(client.grants.get('platform-api') ?? []).includes(INTROSPECT_SCOPE)) throw new InsufficientScope();
    return { clientId: client.clientId, environmentId: client.environmentId };
  };

  return async (request) => {
    try {
      rejectCredentialsInQuery(request.query);
      const params = readTokenParameters(request.body);
      const caller = await authenticateCaller(request, params);
      const token = params.get('token');
      if (token === undefined) throw new InvalidRequest('token is missing: send the access token to introspect as the token parameter');
      const claims = await deps.verifyOwnToken(token);
      if (claims === null || claims.environment !== caller.environmentId || deps.isRevoked(claims)) return INACTIVE;
      const holder = await deps.clients.findClient(claims.client_id);
      if (holder === null || holder.disabled || holder.environmentId !== claims.environment || claims.iat < holder.tokensNotBefore) return INACTIVE;
      const { scope, client_id, sub, aud, iss, exp, iat, jti, environment, browser, act, cnf } = claims;
      // A browser token says so, and a DPoP-bound one is DPoP with its key's thumbprint (RFC 9449 §6.2).
      const token_type = cnf === undefined ? 'Bearer' : 'DPoP';
      return { statusCode: 200, headers: NO_STORE_JSON, body: JSON.stringify({ active: true, scope, client_id, sub, aud, iss, exp, iat, jti, token_type, environment, browser, act, cnf }) };
    } catch (error) {
      return oauthErrorResponse(toOAuthError(error, deps.logger, '/oauth/introspect'));
    }
  };
}

export { InsufficientScope };
