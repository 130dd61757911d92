import type { FastifyInstance } from 'fastify';
import { DEFAULT_DPOP_ALGORITHMS } from '@latchkey/resource';
import type { Config } from '../../config/load-config.ts';
import type { KeyStore } from '../../keys/key-store.ts';
import type { ApiCatalogue } from '../../platform/apis.ts';
import type { Clock } from '../../support/clock.ts';
import { sendProblem } from '../../support/problem.ts';
import { grantType as tokenExchangeGrant } from '../../oauth/grants/token-exchange.ts';
import { REVOCATION_FEED_PATH } from './revocation-feed.ts';


/** What the discovery routes use. */
export interface DiscoveryRouteDeps {
  config: Pick<Config, 'issuer' | 'signingAlgorithm'>;
  apis: ApiCatalogue;
  keyStore: Pick<KeyStore, 'jwks'>;
  clock: Clock;
}

/** RFC 8414 authorization server metadata for this issuer. */
export function buildServerMetadata(deps: Pick<DiscoveryRouteDeps, 'config' | 'apis'>): Record<string, unknown> {
  const { issuer } = deps.config;
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    // RFC 8693 token exchange mints browser tokens (docs/browser-tokens.md).
    grant_types_supported: ['client_credentials', tokenExchangeGrant],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // RFC 7009 and RFC 7662; both authenticate clients as the token endpoint does.
    revocation_endpoint: `${issuer}/oauth/revoke`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint: `${issuer}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // Latchkey extension: revoked tokens and revoked integrations for resource servers to follow
    // (docs/revocation.md); @latchkey/resource subscribes to it.
    latchkey_revocation_feed_endpoint: `${issuer}${REVOCATION_FEED_PATH}`,
    // No authorization endpoint: machine-to-machine only, so no response types.
    response_types_supported: [],
    scopes_supported: deps.apis.apis.flatMap((api) => api.scopes.map((s) => s.name)),
    // RFC 9068 access tokens are signed with these; resource servers can pin them.
    access_token_signing_alg_values_supported: [deps.config.signingAlgorithm],
    // Latchkey extension: the APIs (RFC 8707 resources) tokens can be requested for.
    resources_supported: deps.apis.apis.map((api) => api.audience),
    // RFC 9449 §5.1: a token exchange with a DPoP proof signed with one of these binds the browser token.
    dpop_signing_alg_values_supported: DEFAULT_DPOP_ALGORITHMS,
  };
}

/**
 * `/.well-known/oauth-authorization-server` and the JWKS. `/.well-known/openid-configuration` is not
 * served: Latchkey has no authorization endpoint and issues no ID tokens, so a valid OpenID
 * Connect Discovery document cannot be written, and an invalid one misleads OpenID clients
 * (docs/decisions.md). It answers 404 saying where the RFC 8414 metadata is.
 */
export async function discoveryRoutes(app: FastifyInstance, deps: DiscoveryRouteDeps): Promise<void> {
  const metadata = JSON.stringify(buildServerMetadata(deps));
  const sendMetadata = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(metadata);
  app.get('/.well-known/oauth-authorization-server', sendMetadata);
  app.get('/.well-known/openid-configuration', async (_request, reply) =>
    sendProblem(reply, {
      type: 'https://latchkey.dev/problems/not_an_openid_provider',
      title: 'Not Found',
      status: 404,
      code: 'not_an_openid_provider',
      detail: `Latchkey is an OAuth 2.0 authorization server (client credentials), not an OpenID Provider: its RFC 8414 metadata is at ${deps.config.issuer}/.well-known/oauth-authorization-server (with openid-client: discovery(…, { algorithm: 'oauth2' }))`,
    }),
  );
  // Short max-age: resource servers must see a rotated-in key well within the publish lead.
  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply
      .header('content-type', 'application/jwk-set+json; charset=utf-8')
      .header('cache-control', 'public, max-age=60')
      .send(deps.keyStore.jwks(deps.clock.now())),
  );
}
