import type { FastifyInstance, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AccessTokenError } from '@latchkey/resource';
import type { Logger } from 'pino';
import type { Config } from '../../config/load-config.ts';
import type { DerivedKeys } from '../../keys/master-key.ts';
import type { KeyStore } from '../../keys/key-store.ts';
import type { ClientDirectory } from '../../oauth/client-directory.ts';
import type { FailureRateLimiter } from '../../oauth/failure-rate-limiter.ts';
import type { createTokenEndpoint } from '../../oauth/token-endpoint.ts';
import type { IntegrationDeps } from '../../platform/integrations.ts';
import type { RevocationList } from '../../platform/revocation-list.ts';
import type { Clock } from '../../support/clock.ts';
import type { Metrics } from '../../support/metrics.ts';
import { ClientAuthenticator } from '../../oauth/client-authentication.ts';
import { oauthErrorResponse, type OAuthEndpointRequest, type OAuthEndpointResponse } from '../../oauth/endpoint-support.ts';
import { InvalidRequest, MethodNotAllowed, OAuthError, RequestTooLarge, ServerError } from '../../oauth/errors.ts';
import { createIntrospectionEndpoint, InsufficientScope, INTROSPECT_SCOPE, type IntrospectionCaller } from '../../oauth/introspection-endpoint.ts';
import { createOwnTokenVerifier } from '../../oauth/own-token-verifier.ts';
import { createRevocationEndpoint } from '../../oauth/revocation-endpoint.ts';
import { isAuthorizationRepeated, repeatedAuthorization, type TokenRequestBody } from '../../oauth/token-request.ts';
import { revokeAccessToken } from '../../platform/revocations.ts';
import { authenticatePlatformToken, createPlatformApiVerifier } from '../platform-auth.ts';
import { HttpProblem } from '../problem.ts';
import { introspectionRouteSchema, revocationRouteSchema, tokenRouteSchema } from './oauth-schemas.ts';

/** What the OAuth endpoints (token, revocation, introspection) use. */
export interface TokenRouteDeps {
  config: Pick<Config, 'issuer' | 'platformApiAudience' | 'tokenBodyLimitBytes'>;
  clock: Clock;
  logger: Logger;
  /** The token endpoint (oauth/token-endpoint.ts), shared with the node:http fast path. */
  handleTokenRequest: ReturnType<typeof createTokenEndpoint>;
  metrics: Pick<Metrics, 'startTokenTimer' | 'observeTokenDuration'>;
  directory: ClientDirectory;
  keys: Pick<DerivedKeys, 'secretHashKey'>;
  rateLimiter: FailureRateLimiter;
  keyStore: KeyStore;
  revocations: RevocationList;
  /** The domain's dependencies: revocations are recorded, and Platform API callers checked, through them. */
  platform: IntegrationDeps;
}

const TOKEN_PATH = '/oauth/token';
// The endpoints read their own bodies (readTokenParameters): their schemas document, never validate.
const documentOnly = () => () => true;

/** The endpoint request of a Fastify request: what the framework-free endpoints take. */
function endpointRequest(request: FastifyRequest, body?: TokenRequestBody): OAuthEndpointRequest {
  return {
    query: request.query as Record<string, unknown> | undefined,
    authorization: request.headers.authorization,
    body: body ?? (request.body as TokenRequestBody | undefined) ?? { contentType: request.headers['content-type'], text: '' },
    ip: request.ip,
  };
}

/**
 * The introspection caller behind a Platform API bearer token: verified, checked against live state
 * (http/platform-auth.ts), holding tokens:introspect. Token problems become RFC 6750 answers.
 */
function bearerIntrospectionCaller(app: FastifyInstance, deps: TokenRouteDeps): (authorization: string) => Promise<IntrospectionCaller> {
  const verifier = createPlatformApiVerifier(app, deps);
  return async (authorization) => {
    try {
      const { claims, scopes } = await authenticatePlatformToken(deps, verifier, authorization);
      if (!scopes.has(INTROSPECT_SCOPE)) throw new InsufficientScope();
      return { clientId: claims.client_id, environmentId: String(claims.environment) };
    } catch (error) {
      if (error instanceof AccessTokenError) throw new OAuthError(error.error ?? 'invalid_token', error.statusCode, error.errorDescription, { ...error.headers });
      if (error instanceof HttpProblem) throw new OAuthError(error.code, error.statusCode, error.message, error.headers);
      throw error;
    }
  };
}

/**
 * The OAuth endpoints on Fastify: `POST /oauth/token` (also answered by the node:http fast path,
 * http/token-fast-path.ts), `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662).
 * This plugin has its own body parsers and error handler so every failure, including the ones Fastify
 * raises before a handler runs (size, content type, JSON), is answered in RFC 6749 §5.2 form rather
 * than Fastify's.
 */
export async function tokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): Promise<void> {
  const bodyLimit = deps.config.tokenBodyLimitBytes;
  app.removeAllContentTypeParsers();
  // Every content type is taken as text and handed over uninterpreted, as the node:http fast path
  // does: the endpoint reads it (readTokenParameters), so both paths answer every body alike.
  for (const type of ['application/x-www-form-urlencoded', 'application/json', '*']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit }, (request, text, done) => {
      done(null, { contentType: request.headers['content-type'], text: text as string } satisfies TokenRequestBody);
    });
  }

  /**
   * Answers a request refused before its body was read. At the token endpoint it goes through the
   * endpoint, so it is audited and counted like any token request; the other endpoints answer it as is.
   */
  const refuse = async (request: FastifyRequest, reply: FastifyReply, refusal: OAuthError) => {
    const response =
      request.routeOptions.url === TOKEN_PATH
        ? await deps.handleTokenRequest({ ...endpointRequest(request, { contentType: request.headers['content-type'], text: '' }), refusal })
        : oauthErrorResponse(refusal);
    return reply.code(response.statusCode).headers(response.headers).send(response.body);
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let oauthError: OAuthError;
    if (error instanceof OAuthError) oauthError = error;
    else if (error.statusCode === 413) oauthError = new RequestTooLarge(bodyLimit);
    else if (error.statusCode === 415) oauthError = new InvalidRequest('send the parameters as application/x-www-form-urlencoded or application/json');
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) oauthError = new InvalidRequest(`malformed request (${error.code ?? 'bad request'})`);
    else {
      request.log.error({ err: error }, `${request.routeOptions.url ?? 'an OAuth endpoint'} failed`);
      oauthError = new ServerError();
    }
    return refuse(request, reply, oauthError);
  });

  app.post(TOKEN_PATH, { bodyLimit, schema: tokenRouteSchema, validatorCompiler: documentOnly }, async (request, reply) => {
    const started = deps.metrics.startTokenTimer();
    const response = await deps.handleTokenRequest({
      ...endpointRequest(request),
      // The node:http fast path hands requests with a repeated header to this route.
      refusal: isAuthorizationRepeated(request.raw.rawHeaders) ? repeatedAuthorization() : undefined,
    });
    deps.metrics.observeTokenDuration(started);
    return reply.code(response.statusCode).headers(response.headers).send(response.body);
  });

  // Revocation and introspection authenticate clients as the token endpoint does, with an
  // authenticator of their own (its verified-secret memo serves these endpoints' callers).
  const clientAuth = { authenticator: new ClientAuthenticator(deps.directory, deps.keys.secretHashKey, deps.clock), rateLimiter: deps.rateLimiter };
  const verifyOwnToken = createOwnTokenVerifier({ issuer: deps.config.issuer, keyStore: deps.keyStore, clock: deps.clock });
  const revoke = createRevocationEndpoint({
    ...clientAuth,
    logger: deps.logger,
    verifyOwnToken,
    revoke: (claims, client, ip) =>
      revokeAccessToken(deps.platform, { jti: claims.jti, exp: claims.exp, clientId: client.clientId, environmentId: client.environmentId }, {
        actor: { type: 'integration', id: client.clientId, environmentId: client.environmentId },
        ip,
      }),
  });
  const introspect = createIntrospectionEndpoint({
    ...clientAuth,
    logger: deps.logger,
    directory: deps.directory,
    verifyOwnToken,
    isRevoked: (claims) => deps.revocations.isRevoked(claims),
    authenticateBearer: bearerIntrospectionCaller(app, deps),
  });
  const endpoints: [string, (request: OAuthEndpointRequest) => Promise<OAuthEndpointResponse>, Record<string, unknown>][] = [
    ['/oauth/revoke', revoke, revocationRouteSchema],
    ['/oauth/introspect', introspect, introspectionRouteSchema],
  ];
  for (const [url, handle, schema] of endpoints) {
    app.post(url, { bodyLimit, schema, validatorCompiler: documentOnly }, async (request, reply) => {
      // A repeated Authorization header is refused here as at the token endpoint (first-wins would be a guess).
      const response = isAuthorizationRepeated(request.raw.rawHeaders) ? oauthErrorResponse(repeatedAuthorization()) : await handle(endpointRequest(request));
      return reply.code(response.statusCode).headers(response.headers).send(response.body);
    });
  }

  // RFC 6749 §3.2: the token endpoint takes POST only; a GET must never issue a token. The same for
  // revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1). Every other method Fastify routes
  // (OPTIONS and TRACE included; HEAD follows GET) gets 405 with Allow: POST.
  for (const url of [TOKEN_PATH, ...endpoints.map(([path]) => path)]) {
    app.route({
      method: app.supportedMethods.filter((method) => method !== 'POST' && method !== 'HEAD'),
      url,
      handler: async (request, reply) => refuse(request, reply, new MethodNotAllowed(url === TOKEN_PATH ? undefined : url)),
    });
  }
}
