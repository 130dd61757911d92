import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessTokenClaims } from './claims.ts';
import type { AccessTokenVerifier } from './create-verifier.ts';
import { assertNoWriteTokenInBrowser } from './browser-rule.ts';
import { AccessTokenError } from './errors.ts';
import { checkMiddlewareOptions } from './request-url.ts';
import type { MiddlewareOptions } from './request-url.ts';
import { assertScopes, challengeFor, validateScopes } from './scopes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token claims; set on every request in a scope that registered `latchkeyFastify`. */
    accessToken: AccessTokenClaims;
  }
  interface FastifyContextConfig {
    /** `true` relaxes the browser rule of `latchkeyFastify` for this route (write tokens from a page are accepted). */
    allowWriteTokensInBrowser?: boolean;
  }
}

/** Options of {@link latchkeyFastify}: `publicUrl` for DPoP, and relaxing the browser rule. */
export type LatchkeyFastifyOptions = MiddlewareOptions<FastifyRequest>;

// The realm of the verifier that authenticated a request, for requireScopes' 403 challenge.
/** The verifier's realm and DPoP algorithms, per verified request, for requireScopes' challenges. */
const challenges = new WeakMap<object, { realm: string | undefined; dpopAlgorithms: readonly string[] }>();

/**
 * A Fastify plugin that authenticates every request in the scope that registers it (RFC 6750,
 * RFC 9449): refuses a token in the query string, verifies the Bearer token — or the DPoP-bound
 * token and its `DPoP` proof — and sets `request.accessToken`. Then the browser rule: a request
 * with an `Origin` header whose token carries a `:write` scope is refused 403
 * `write_token_in_browser`, unless relaxed (`options.allowWriteTokensInBrowser`, or route
 * `config: { allowWriteTokensInBrowser: true }`).
 * It runs in `onRequest`, before the body is read, so an unauthenticated upload costs nothing.
 * Failures are answered directly with the RFC 6750 status, `WWW-Authenticate` and a JSON
 * `{ error, error_description }` body (a 503 if the issuer's keys cannot be loaded).
 *
 * Like a `fastify-plugin` plugin it is not encapsulated: register it inside the scope that holds
 * the protected routes, and keep public routes (health checks) outside that scope.
 *
 * @example
 * import Fastify from 'fastify';
 * import { createVerifier } from '@latchkey/resource';
 * import { latchkeyFastify, requireScopes } from '@latchkey/resource/fastify';
 *
 * const verifier = createVerifier({ issuer: 'https://latchkey.example.com', audience: 'https://latchkey.example.com/environment-api' });
 * const app = Fastify();
 * await app.register(async (api) => {
 *   await api.register(latchkeyFastify(verifier, { publicUrl: 'https://api.example.com' }));
 *   api.get('/templates', { preHandler: requireScopes('templates:read') }, async (request) => {
 *     return { client: request.accessToken.client_id };
 *   });
 *   // A route that takes write tokens from pages anyway (say, an internal admin tool):
 *   api.post('/drafts', { config: { allowWriteTokensInBrowser: true } }, handler);
 * });
 */
export function latchkeyFastify(verifier: AccessTokenVerifier, options?: LatchkeyFastifyOptions): FastifyPluginCallback {
  if (typeof verifier?.verifyRequest !== 'function') throw new TypeError('latchkeyFastify needs a verifier from createVerifier()');
  const { publicUrl } = checkMiddlewareOptions(options, 'latchkeyFastify');
  const allowWrite = options?.allowWriteTokensInBrowser ?? false;
  // What the client addressed, for the proof's htu; built only for DPoP requests.
  const htuOf = (request: FastifyRequest) => () => `${publicUrl ?? `${request.protocol}://${request.host}`}${request.url}`;
  const relaxed = (request: FastifyRequest) =>
    allowWrite === true || request.routeOptions.config.allowWriteTokensInBrowser === true || (typeof allowWrite === 'function' && allowWrite(request));
  const plugin: FastifyPluginCallback = (fastify: FastifyInstance, _options, done) => {
    // Decorating with null keeps request objects one shape (Fastify 5 rejects object defaults).
    if (!fastify.hasRequestDecorator('accessToken')) fastify.decorateRequest('accessToken', null as unknown as AccessTokenClaims);
    fastify.addHook('onRequest', async (request, reply) => {
      try {
        const { headers } = request;
        const claims = await verifier.verifyRequest({
          authorization: headers.authorization,
          url: request.url,
          method: request.method,
          dpop: headers.dpop,
          htu: htuOf(request),
        });
        if (headers.origin !== undefined && !relaxed(request)) assertNoWriteTokenInBrowser(headers.origin, claims, verifier.realm);
        request.accessToken = claims;
        challenges.set(request, { realm: verifier.realm, dpopAlgorithms: verifier.dpopAlgorithms });
      } catch (error) {
        if (error instanceof AccessTokenError) return sendAccessTokenError(reply, error);
        throw error;
      }
      return undefined;
    });
    done();
  };
  // What fastify-plugin would set (not a dependency for three properties): skip-override makes the
  // hook apply to the scope that registers the plugin instead of a new child scope.
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@latchkey/resource',
    [Symbol.for('plugin-meta')]: { name: '@latchkey/resource', fastify: '5.x' },
  });
  return plugin;
}

/**
 * A route `preHandler` that answers 403 `insufficient_scope` (RFC 6750 §3.1, naming the scopes
 * needed) unless the token carries every one of `scopes`. Needs `latchkeyFastify` registered in
 * the route's scope; without it the request fails with a 500 rather than passing unchecked.
 *
 * @example
 * app.post('/templates', { preHandler: requireScopes('templates:write') }, handler);
 */
export function requireScopes(...scopes: string[]): (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const required = validateScopes(scopes);
  return async (request, reply) => {
    const claims = request.accessToken as AccessTokenClaims | null;
    if (claims === null || claims === undefined) {
      throw new TypeError('requireScopes() runs only on routes where latchkeyFastify(verifier) is registered');
    }
    try {
      const known = challenges.get(request);
      assertScopes(claims, required, known?.realm, challengeFor(claims, known?.dpopAlgorithms ?? []));
    } catch (error) {
      if (error instanceof AccessTokenError) return sendAccessTokenError(reply, error);
      throw error;
    }
    return undefined;
  };
}

/** Writes an {@link AccessTokenError} as the RFC 6750 response. */
function sendAccessTokenError(reply: FastifyReply, error: AccessTokenError): FastifyReply {
  return reply.code(error.statusCode).headers(error.headers).send(error.body);
}
