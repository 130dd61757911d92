import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../support/database-errors.ts';
import { authenticateThrottled, extractCredentials, type AuthenticatedClient, type ClientAuthenticator } from './client-authentication.ts';
import { OAuthError, ServerError, TemporarilyUnavailable } from './errors.ts';
import type { FailureRateLimiter } from './failure-rate-limiter.ts';
import type { TokenRequestBody, TokenParameters } from './token-request.ts';

/** A request to one of the `/oauth/*` endpoints as the HTTP layer hands it over: no framework types. */
export interface OAuthEndpointRequest {
  query: Record<string, unknown> | undefined;
  authorization: string | undefined;
  /** The body as received, read by its content type (token-request.ts). */
  body: TokenRequestBody;
  ip: string;
}

/** What to write back: status, headers and body, as every `/oauth/*` endpoint answers. */
export interface OAuthEndpointResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** RFC 6749 §5.1 / RFC 7009 §2.2 / RFC 7662 §2.2: answers about credentials and tokens are never cached. */
export const NO_STORE_JSON = { 'cache-control': 'no-store', pragma: 'no-cache', 'content-type': 'application/json; charset=utf-8' };

/** Answers an OAuthError in RFC 6749 §5.2 form. */
export function oauthErrorResponse(error: OAuthError): OAuthEndpointResponse {
  return { statusCode: error.statusCode, headers: { ...NO_STORE_JSON, ...error.headers }, body: JSON.stringify(error.toJSON()) };
}

/**
 * The OAuthError a failure is answered with: itself if it is one, 503 when the database is down
 * (the client may retry), else a logged 500 that says nothing more.
 */
export function toOAuthError(error: unknown, logger: Logger, endpoint: string): OAuthError {
  if (error instanceof OAuthError) return error;
  if (isDatabaseUnavailable(error)) {
    logger.warn({ err: error }, `database unavailable for a request to ${endpoint}`);
    return new TemporarilyUnavailable('the token service cannot reach its database right now; retry shortly');
  }
  logger.error({ err: error }, `${endpoint} failed unexpectedly`);
  return new ServerError();
}

/** What authenticating a client at an `/oauth/*` endpoint needs. */
export interface EndpointClientAuthDeps {
  authenticator: ClientAuthenticator;
  rateLimiter: FailureRateLimiter;
}

/**
 * Client authentication as the token endpoint does it (RFC 6749 §2.3: Basic or the body, never both),
 * for the endpoints that share it (RFC 7009 §2.1, RFC 7662 §2.1), under the same failed-authentication
 * limits (authenticateThrottled).
 */
export async function authenticateEndpointClient(deps: EndpointClientAuthDeps, request: Pick<OAuthEndpointRequest, 'authorization' | 'ip'>, params: TokenParameters): Promise<AuthenticatedClient> {
  return authenticateThrottled(deps.authenticator, deps.rateLimiter, extractCredentials(request.authorization, params), request.ip);
}
