import type { Logger } from 'pino';
import type { ClientRecord } from './client-directory.ts';
import { authenticateEndpointClient, oauthErrorResponse, toOAuthError, type EndpointClientAuthDeps, type OAuthEndpointRequest, type OAuthEndpointResponse } from './endpoint-support.ts';
import { InvalidRequest } from './errors.ts';
import type { OwnTokenClaims } from './own-token-verifier.ts';
import { readTokenParameters, rejectCredentialsInQuery } from './token-request.ts';

/** Dependencies of the revocation endpoint. */
export interface RevocationEndpointDeps extends EndpointClientAuthDeps {
  logger: Logger;
  verifyOwnToken: (token: string) => Promise<OwnTokenClaims | null>;
  /** Records the revocation; once it resolves, this process refuses the token and never hands it out again. */
  revoke: (claims: OwnTokenClaims, client: ClientRecord, ip: string) => Promise<void>;
}

const REVOKED: OAuthEndpointResponse = { statusCode: 200, headers: { 'cache-control': 'no-store', pragma: 'no-cache' }, body: '' };

/**
 * `POST /oauth/revoke` (RFC 7009): a client revokes one of its own access tokens. The client
 * authenticates exactly as at the token endpoint (§2.1). A token that is unknown, expired, not ours,
 * or issued to another client is answered 200 like a revoked one (§2.2: the client could do nothing
 * with an error, and an error would tell a caller whose tokens are whose); only the client's own live
 * tokens are revoked. `token_type_hint` is accepted and ignored: access tokens are the only kind.
 */
export function createRevocationEndpoint(deps: RevocationEndpointDeps): (request: OAuthEndpointRequest) => Promise<OAuthEndpointResponse> {
  return async (request) => {
    try {
      rejectCredentialsInQuery(request.query);
      const params = readTokenParameters(request.body);
      const { client } = await authenticateEndpointClient(deps, request, params);
      const token = params.get('token');
      if (token === undefined) throw new InvalidRequest('token is missing: send the access token to revoke as the token parameter');
      const claims = await deps.verifyOwnToken(token);
      if (claims !== null && claims.client_id === client.clientId) await deps.revoke(claims, client, request.ip);
      return REVOKED;
    } catch (error) {
      return oauthErrorResponse(toOAuthError(error, deps.logger, '/oauth/revoke'));
    }
  };
}
