import type { ApiCatalogue, ApiDefinition } from '../../platform/apis.ts';
import type { ClientRecord } from '../client-directory.ts';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient, quoteForDescription } from '../errors.ts';
import type { OwnTokenClaims } from '../own-token-verifier.ts';
import type { TokenParameters } from '../token-request.ts';

// RFC 8693 token exchange, narrowed to what Latchkey uses it for: a backend presents its own access
// token (subject_token) and gets a *browser token* — read scopes only, short-lived, saying who
// minted it (`act`) and, when the request carried a DPoP proof, bound to the browser's key
// (`cnf.jkt`, RFC 9449). docs/browser-tokens.md describes it from the outside.

/** The grant this module implements (RFC 8693 §2.1). */
export const grantType = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The one token type exchanged and issued (RFC 8693 §3): an access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Browser tokens live at least this long and at most this long (issue 16: default 15 minutes, at most 1 hour). */
export const BROWSER_TOKEN_LIFETIME_BOUNDS = { min: 60, max: 3600 } as const;

/** The rule a write scope breaks, as every refusal names it. */
const READ_ONLY_RULE = 'browser tokens carry read scopes only';

/** How an integration is allowed to exchange, as the refusal says it (console, CLI, Platform API). */
const HOW_TO_ALLOW =
  'this integration may not mint browser tokens; allow it on the Permissions tab of the console, with `latchkey integrations set-permissions <id> --browser-tokens`, or with browserTokens: true in the Platform API';

/** Whether a scope only reads (`templates:read`, `integrations:read`): the only kind a browser token may carry. */
export function isReadScope(scope: string): boolean {
  return scope.endsWith(':read');
}

/** What a token exchange needs besides the request: the APIs, and how to check a subject token. */
export interface TokenExchangeDeps {
  apis: ApiCatalogue;
  /** Verifies that a string is an unexpired access token this server issued (own-token-verifier.ts), or null. */
  verifyOwnToken: (token: string) => Promise<OwnTokenClaims | null>;
  /** Whether a verified token has been revoked, by its jti or its integration (platform/revocation-list.ts). */
  isRevoked: (claims: OwnTokenClaims) => boolean;
}

/** What a token exchange resolves to: the browser token's API and scopes. */
export interface TokenExchangeGrant {
  api: ApiDefinition;
  scopes: string[];
  /** The subject token's jti, for the audit entry (never the token itself). */
  subjectJti: string;
}

/** One message for every subject token that is not acceptable: it never says which check failed. */
const NOT_ACCEPTABLE =
  "subject_token must be an unexpired, unrevoked access token this server issued to this client (send the backend's own token from grant_type=client_credentials)";

/**
 * Checks the parameters of a token exchange (RFC 8693 §2.1) by `client` and resolves the browser
 * token's API and scopes, or throws the RFC 6749 §5.2 / RFC 8693 §2.2.2 error a client can act on:
 *
 * - the integration must be allowed browser tokens → else unauthorized_client, saying how to allow it;
 * - subject_token_type and requested_token_type (optional) must be access tokens → else invalid_request;
 * - the subject token must be this server's, unexpired, unrevoked, issued to this very client, in its
 *   environment, and not itself a browser token → else invalid_grant (one answer: an integration
 *   presenting another's token learns nothing about it);
 * - audience / resource, if sent, must name the subject token's API → else invalid_target;
 * - scope, if sent, must hold read scopes only (invalid_scope naming the rule) and be a subset of the
 *   subject token's scopes still granted; absent, the subject token's read scopes.
 */
export async function resolveTokenExchangeGrant(deps: TokenExchangeDeps, client: ClientRecord, params: TokenParameters): Promise<TokenExchangeGrant> {
  if (!client.browserTokens) throw new UnauthorizedClient(HOW_TO_ALLOW);

  const subjectTokenType = params.get('subject_token_type');
  if (subjectTokenType === undefined) throw new InvalidRequest(`subject_token_type is missing; send subject_token_type=${ACCESS_TOKEN_TYPE}`);
  if (subjectTokenType !== ACCESS_TOKEN_TYPE) throw new InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}: only Latchkey access tokens can be exchanged`);
  const requestedTokenType = params.get('requested_token_type');
  if (requestedTokenType !== undefined && requestedTokenType !== ACCESS_TOKEN_TYPE) {
    throw new InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE} (or absent): a token exchange issues access tokens only`);
  }
  const subjectToken = params.get('subject_token');
  if (subjectToken === undefined) throw new InvalidRequest("subject_token is missing; send the backend's own access token");
  // RFC 8693 §2.1: actor tokens act for someone else; a browser token's actor is always the client itself.
  if (params.get('actor_token') !== undefined) throw new InvalidRequest('actor_token is not supported: the browser token names the authenticated client as its actor');

  const claims = await deps.verifyOwnToken(subjectToken);
  if (
    claims === null ||
    claims.client_id !== client.clientId ||
    claims.environment !== client.environmentId ||
    claims.iat < client.tokensNotBefore ||
    deps.isRevoked(claims)
  ) {
    throw new InvalidGrant(NOT_ACCEPTABLE);
  }
  // A browser token is not exchanged again: the chain would outlive the browser token's lifetime.
  if (claims.browser === true) throw new InvalidGrant("subject_token is a browser token; exchange the backend's own access token instead");

  const api = deps.apis.findByIdentifier(claims.aud);
  // The subject token verified, so its audience is one of ours; an API removed since is no longer served.
  if (api === undefined) throw new InvalidGrant(NOT_ACCEPTABLE);
  resolveTarget(deps.apis, api, params);

  const granted = client.grants.get(api.id) ?? [];
  // What the subject token holds and the integration still has: a scope removed since is not passed on.
  const held = claims.scope.split(' ').filter((name) => name !== '' && granted.includes(name));
  const requested = (params.get('scope') ?? '').split(' ').filter((name) => name !== '');
  if (requested.length === 0) {
    const readable = held.filter(isReadScope);
    if (readable.length === 0) throw new InvalidScope(`the subject token carries no read scope for the ${api.name}; ${READ_ONLY_RULE}`);
    return { api, scopes: deps.apis.normalizeScopes(api, readable), subjectJti: claims.jti };
  }
  for (const name of requested) {
    if (!isReadScope(name)) throw new InvalidScope(`scope ${quoteForDescription(name)} is not a read scope: ${READ_ONLY_RULE}`);
    if (!held.includes(name)) {
      throw new InvalidScope(`scope ${quoteForDescription(name)} is not in the subject token; a browser token carries a subset of its read scopes: ${held.filter(isReadScope).join(' ') || '(none)'}`);
    }
  }
  return { api, scopes: deps.apis.normalizeScopes(api, requested), subjectJti: claims.jti };
}

/**
 * RFC 8693 §2.1 audience / resource: optional, and when sent they must name the subject token's API
 * (a browser token is for the same API as the token it comes from).
 */
function resolveTarget(apis: ApiCatalogue, api: ApiDefinition, params: TokenParameters): void {
  const audience = params.get('audience');
  const resource = params.get('resource');
  for (const identifier of [audience, resource]) {
    if (identifier === undefined) continue;
    const named = apis.findByIdentifier(identifier);
    if (named === api) continue;
    const shown = /^(https?:\/\/|urn:)[^\s]{1,200}$/.test(identifier) ? quoteForDescription(identifier, 100) : '(not a URI)';
    throw new InvalidTarget(`${named === undefined ? `unknown audience ${shown}` : `audience ${shown} is not the subject token's API`}: a browser token is for the API of its subject token, ${api.audience} (${api.name})`);
  }
}

/**
 * The lifetime of a browser token: the environment's setting within the bounds, and never longer
 * than the server's own token lifetime (signing keys and revocations are kept for that long).
 */
export function browserTokenLifetime(client: ClientRecord, tokenTtlSeconds: number): number {
  const { min, max } = BROWSER_TOKEN_LIFETIME_BOUNDS;
  return Math.min(Math.max(min, Math.min(max, client.browserTokenLifetimeSeconds)), tokenTtlSeconds);
}
