import type { FastifyInstance, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AccessTokenError } from '@latchkey/resource';
import type { Logger } from 'pino';
import type { Config } from '../../config/load-config.ts';
import type { DerivedKeys } from '../../keys/master-key.ts';
import type { KeyStore } from '../../keys/key-store.ts';
import type { HotPathCaches } from '../../oauth/hot-path-caches.ts';
import type { FailureRateLimiter } from '../../oauth/failure-rate-limiter.ts';
import type { IntegrationDeps } from '../../platform/integrations.ts';
import type { RevocationList } from '../../platform/revocation-list.ts';
import type { Clock } from '../../support/clock.ts';
import { ClientAuthenticator } from '../../oauth/client-authentication.ts';
import { oauthErrorResponse, type OAuthEndpointRequest, type OAuthEndpointResponse } from '../../oauth/endpoint-support.ts';
import { MethodNotAllowed, OAuthError } from '../../oauth/errors.ts';
import { createIntrospectionEndpoint, InsufficientScope, INTROSPECT_SCOPE, type IntrospectionCaller } from '../../oauth/introspection-endpoint.ts';
import { createOwnTokenVerifier } from '../../oauth/own-token-verifier.ts';
import { createRevocationEndpoint } from '../../oauth/revocation-endpoint.ts';
import type { TokenRequestBody } from '../../oauth/token-request.ts';
import { revokeAccessToken } from '../../platform/revocations.ts';
import { authenticatePlatformToken, createPlatformApiVerifier } from '../platform-auth.ts';
import { HttpProblem } from '../../support/problem.ts';
import { oauthErrorOfFailure, type TokenHttpAdapter, type TokenHttpAnswer, type TokenRequestHeaders } from '../token-http-adapter.ts';
import { introspectionRouteSchema, revocationRouteSchema, tokenRouteSchema } from './oauth-schemas.ts';

/** What the OAuth endpoints use beyond the token endpoint's HTTP adapter: revocation and introspection. */
export interface TokenRouteDeps {
  config: Pick<Config, 'issuer' | 'platformApiAudience'>;
  clock: Clock;
  logger: Logger;
  /** The hot-path caches (client directory, verified-secret memo) the token endpoint uses too. */
  caches: HotPathCaches;
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

/** The endpoint request of a Fastify request: what the framework-free revocation and introspection endpoints take. */
function endpointRequest(request: FastifyRequest): OAuthEndpointRequest {
  return {
    query: request.query as Record<string, unknown> | undefined,
    authorization: request.headers.authorization,
    body: (request.body as TokenRequestBody | undefined) ?? { contentType: request.headers['content-type'], text: '' },
    ip: request.ip,
  };
}

/**
 * The headers the token endpoint reads. Node joins a repeated Origin or DPoP header with ", ": a
 * joined DPoP value is not a proof (RFC 9449 §4.3 allows one header), and any Origin is a browser.
 */
function tokenHeaders(request: FastifyRequest): TokenRequestHeaders {
  const { authorization, origin, dpop } = request.headers;
  return { authorization, origin, dpop: typeof dpop === 'string' ? dpop : dpop?.join(', ') };
}

/** Writes an answer through Fastify. */
function send(reply: FastifyReply, answer: TokenHttpAnswer | OAuthEndpointResponse) {
  return reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
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

/** Options of {@link tokenRoutes}: its dependencies, and the token endpoint's HTTP adapter. */
export interface TokenRoutesOptions extends TokenRouteDeps {
  /** The token endpoint's HTTP adapter, shared with the node:http fast path. */
  tokenEndpoint: TokenHttpAdapter;
}

/**
 * The OAuth endpoints on Fastify: `POST /oauth/token` (also answered by the node:http fast path,
 * http/token-fast-path.ts; both go through the token HTTP adapter), `POST /oauth/revoke` (RFC 7009)
 * and `POST /oauth/introspect` (RFC 7662). This plugin has its own body parsers and error handler so
 * every failure, including the ones Fastify raises before a handler runs (size, content type, JSON),
 * is answered in RFC 6749 §5.2 form rather than Fastify's.
 */
export async function tokenRoutes(app: FastifyInstance, deps: TokenRoutesOptions): Promise<void> {
  const { tokenEndpoint } = deps;
  const bodyLimit = tokenEndpoint.bodyLimit;
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
   * adapter and the endpoint, so it is audited and counted like any token request; the other
   * endpoints answer it as is.
   */
  const refuse = async (request: FastifyRequest, reply: FastifyReply, refusal: OAuthError) => {
    if (request.routeOptions.url !== TOKEN_PATH) return send(reply, oauthErrorResponse(refusal));
    const { raw, headers } = request;
    return send(reply, await tokenEndpoint.refuse(raw, tokenEndpoint.startTimer(), request.query as Record<string, unknown> | undefined, tokenHeaders(request), headers['content-type'], refusal));
  };

  app.setErrorHandler((error: FastifyError, request, reply) =>
    refuse(request, reply, oauthErrorOfFailure(error, bodyLimit, deps.logger, request.routeOptions.url ?? 'an OAuth endpoint')),
  );

  app.post(TOKEN_PATH, { bodyLimit, schema: tokenRouteSchema, validatorCompiler: documentOnly }, async (request, reply) => {
    const started = tokenEndpoint.startTimer();
    const { raw, headers } = request;
    const body = (request.body as TokenRequestBody | undefined) ?? { contentType: headers['content-type'], text: '' };
    // The node:http fast path hands requests with a repeated header to this route.
    return send(reply, await tokenEndpoint.answer(raw, started, request.query as Record<string, unknown> | undefined, tokenHeaders(request), body, tokenEndpoint.headerRefusal(raw.rawHeaders)));
  });

  // Revocation and introspection authenticate clients as the token endpoint does, over the same
  // hot-path caches (oauth/hot-path-caches.ts: one client directory and verified-secret memo).
  const clientAuth = { authenticator: new ClientAuthenticator(deps.caches, deps.keys.secretHashKey, deps.clock), rateLimiter: deps.rateLimiter };
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
    clients: deps.caches,
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
      const repeated = tokenEndpoint.headerRefusal(request.raw.rawHeaders);
      return send(reply, repeated ? oauthErrorResponse(repeated) : await handle(endpointRequest(request)));
    });
  }

  // RFC 6749 §3.2: the token endpoint takes POST only; a GET must never issue a token. The same for
  // revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1). Every other method Fastify routes
  // (OPTIONS and TRACE included; HEAD follows GET) gets 405 with Allow: POST.
  for (const url of [TOKEN_PATH, ...endpoints.map(([path]) => path)]) {
    app.route({
      method: app.supportedMethods.filter((method) => method !== 'POST' && method !== 'HEAD'),
      url,
      handler: async (request, reply) => refuse(request, reply, url === TOKEN_PATH ? tokenEndpoint.methodNotAllowed() : new MethodNotAllowed(url)),
    });
  }
}
