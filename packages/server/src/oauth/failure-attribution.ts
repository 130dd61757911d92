import { authenticateThrottled, extractCredentials, storableClientId, type ClientAuthenticator, type PresentedCredentials } from './client-authentication.ts';
import type { HotPathCaches } from './hot-path-caches.ts';
import type { FailureRateLimiter } from './failure-rate-limiter.ts';
import type { TokenParameters } from './token-request.ts';

/** Who a failed request came from, as far as it can be told: what its audit row names. */
export interface FailureAttribution {
  /** The presented client ID in storable form (storableClientId), if the request named one. */
  clientId: string | undefined;
  integrationId: string | undefined;
  environmentId: string | undefined;
}

/** What an endpoint that authenticates clients hands over to attribute its failures. */
export interface FailureAttributionDeps {
  authenticator: ClientAuthenticator;
  rateLimiter: FailureRateLimiter;
  caches: Pick<HotPathCaches, 'peekClient'>;
}

const NO_PARAMETERS: TokenParameters = new Map();

/** The credentials a request presents, however it failed: the Basic header alone, else the body's. */
function presentedCredentials(authorization: string | undefined, params: TokenParameters | undefined): PresentedCredentials | undefined {
  try {
    if (authorization !== undefined && authorization !== '') return extractCredentials(authorization, NO_PARAMETERS);
    return params === undefined ? undefined : extractCredentials(undefined, params);
  } catch {
    return undefined;
  }
}

/**
 * Attributes a request that failed before its client was authenticated — a bad grant type or body, a
 * wrong method, an oversized body (checklist 30: every failure is audited with its integration and
 * environment). The credentials are checked under the same throttling as any authentication, so a
 * wrong secret counts as a failure and made-up client IDs cost no more queries than failed
 * authentications do. Only credentials that authenticate attribute the row to an integration; the
 * answer to the client stays the error it got.
 *
 * When authentication itself was attempted and failed (`attempted`), only memory is consulted: an
 * invalid_client was attributed where it happened, and a throttled request reads no database.
 */
export async function attributeFailure(
  deps: FailureAttributionDeps,
  request: { authorization: string | undefined; ip: string },
  params: TokenParameters | undefined,
  attempted: string | undefined,
): Promise<FailureAttribution> {
  if (attempted !== undefined) {
    const known = deps.caches.peekClient(attempted);
    return { clientId: storableClientId(attempted), integrationId: known?.integrationId, environmentId: known?.environmentId };
  }
  const credentials = presentedCredentials(request.authorization, params);
  if (credentials === undefined) return { clientId: undefined, integrationId: undefined, environmentId: undefined };
  const clientId = storableClientId(credentials.clientId);
  try {
    const { client } = await authenticateThrottled(deps.authenticator, deps.rateLimiter, credentials, request.ip);
    return { clientId, integrationId: client.integrationId, environmentId: client.environmentId };
  } catch {
    // Not authenticated (or throttled, or the database is away): the row names the presented ID only.
    return { clientId, integrationId: undefined, environmentId: undefined };
  }
}
