import type { Logger } from 'pino';
import type { Clock } from '../support/clock.ts';
import type { ApiCatalogue } from '../platform/apis.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { authenticateThrottled, ClientAuthenticator, extractCredentials, storableClientId } from './client-authentication.ts';
import type { ClientDirectory, ClientRecord } from './client-directory.ts';
import { InvalidClient, InvalidRequest, OAuthError, UnsupportedGrantType } from './errors.ts';
import { NO_STORE_JSON, oauthErrorResponse, toOAuthError, type OAuthEndpointRequest, type OAuthEndpointResponse } from './endpoint-support.ts';
import type { FailureRateLimiter } from './failure-rate-limiter.ts';
import { attributeFailure } from './failure-attribution.ts';
import { describeRequestedGrant, grantType as clientCredentials, resolveClientCredentialsGrant } from './grants/client-credentials.ts';
import { mintAccessToken, type MintedToken } from './mint-access-token.ts';
import type { TokenCache } from './token-cache.ts';
import { readTokenParameters, rejectCredentialsInQuery, type TokenParameters } from './token-request.ts';
import { RepeatMemo, type MemoEntry } from './repeat-memo.ts';

/** A token request as the HTTP layer hands it over: no framework types. Its body is read only when it is not an exact repeat. */
export interface TokenEndpointRequest extends OAuthEndpointRequest {
  /**
   * Set when the HTTP layer refused the request before reading it (a method other than POST, an
   * oversized body, a repeated Authorization header): the endpoint answers with this error and
   * records it like any other failure (checklist 30).
   */
  refusal?: OAuthError;
}

/** What a successful request resolved to, remembered for an exact repeat of it. */
interface RepeatedRequest extends MemoEntry {
  clientId: string;
  record: ClientRecord;
  secretExpiresAt: number | null;
  /** The cached token it was answered with, and the token cache's epoch at that time. */
  token: MintedToken;
  cacheEpoch: number;
  api: { audience: string };
  scopes: readonly string[];
  scopeText: string;
  secretGeneration: number;
  /** The response last rendered for it: expires_in changes once a second, the rest never. */
  response: TokenEndpointResponse | undefined;
  renderedForSecond: number;
}

/** What to write back. */
export interface TokenEndpointResponse extends OAuthEndpointResponse {
  /**
   * The headers as the HTTP layer writes them (content-length included), filled in by that layer the
   * first time it writes this response: an exact repeat gets the same response object back within a
   * second, so the work is done once.
   */
  wire?: string[];
}

/** Outcome of one request, for metrics and audit (never the secret or the token). */
export interface TokenRequestOutcome {
  clientId: string | undefined;
  integrationId: string | undefined;
  secretGeneration: number | undefined;
  environmentId: string | undefined;
  audience: string | undefined;
  scopes: readonly string[];
  ip: string;
  /** 'minted' | 'cached' on success, else the OAuth error code. */
  outcome: string;
  statusCode: number;
}

/** Dependencies of the token endpoint. */
export interface TokenEndpointDeps {
  issuer: string;
  apis: ApiCatalogue;
  clock: Clock;
  logger: Logger;
  directory: ClientDirectory;
  secretHashKey: Buffer;
  keyStore: KeyStore;
  tokenCache: TokenCache;
  rateLimiter: FailureRateLimiter;
  tokenTtlSeconds: number;
  /** Called once per request with its outcome. */
  onOutcome?: (outcome: TokenRequestOutcome) => void;
}

// RFC 6749 §5.1: token responses and errors must not be cached anywhere.
const NO_STORE = NO_STORE_JSON;

function tokenResponse(token: MintedToken, scopeText: string, nowSecond: number): TokenEndpointResponse {
  const expiresIn = Math.max(0, Math.floor(token.expiresAt / 1000) - nowSecond);
  return {
    statusCode: 200,
    headers: NO_STORE,
    body: `{"access_token":"${token.token}","token_type":"Bearer","expires_in":${expiresIn},"scope":"${scopeText}"}`,
  };
}

export { oauthErrorResponse };

/**
 * `POST /oauth/token` for the client credentials grant (RFC 6749 §4.4), framework-free: parse,
 * check the grant type, authenticate the client (rate-limited on failures), resolve audience and
 * scopes, then answer the cached token or mint one.
 */
export function createTokenEndpoint(deps: TokenEndpointDeps): (request: TokenEndpointRequest) => TokenEndpointResponse | Promise<TokenEndpointResponse> {
  const authenticator = new ClientAuthenticator(deps.directory, deps.secretHashKey, deps.clock);

  // The repeat-request memo (repeat-memo.ts). An exact repeat of a request that succeeded skips
  // parsing, Basic decoding, the secret comparison and scope resolution — provided that the client's
  // directory record is still the very same object (any change to the integration replaces it), the
  // secret that matched has not expired, the client is not rate-limited, and its token is still fresh
  // in memory. Anything else takes the full path.
  const repeats = new RepeatMemo<RepeatedRequest>();
  // A query string makes a request unusual (and possibly an error): it always takes the full path.
  const hasQuery = (request: TokenEndpointRequest): boolean => request.query !== undefined && Object.keys(request.query).length > 0;

  /** Answers an exact repeat from memory, synchronously; undefined when the full path must run. */
  const answerRepeat = (request: TokenEndpointRequest, repeat: RepeatedRequest): TokenEndpointResponse | undefined => {
    const now = deps.clock.now();
    const valid =
      deps.directory.peek(repeat.clientId) === repeat.record &&
      (repeat.secretExpiresAt === null || repeat.secretExpiresAt > now) &&
      repeat.cacheEpoch === deps.tokenCache.epoch &&
      deps.tokenCache.isFresh(repeat.token, now) &&
      !deps.rateLimiter.check(request.ip, repeat.clientId, now);
    if (!valid) {
      repeats.forget(repeat);
      return undefined;
    }
    deps.onOutcome?.({
      clientId: repeat.clientId,
      integrationId: repeat.record.integrationId,
      secretGeneration: repeat.secretGeneration,
      environmentId: repeat.record.environmentId,
      audience: repeat.api.audience,
      scopes: repeat.scopes,
      ip: request.ip,
      outcome: 'cached',
      statusCode: 200,
    });
    const second = Math.floor(now / 1000);
    if (repeat.response === undefined || repeat.renderedForSecond !== second) {
      repeat.response = tokenResponse(repeat.token, repeat.scopeText, second);
      repeat.renderedForSecond = second;
    }
    return repeat.response;
  };

  const answer = async (request: TokenEndpointRequest, remember: boolean): Promise<TokenEndpointResponse> => {
    const outcome: TokenRequestOutcome = { clientId: undefined, integrationId: undefined, secretGeneration: undefined, environmentId: undefined, audience: undefined, scopes: [], ip: request.ip, outcome: '', statusCode: 200 };
    let params: TokenParameters | undefined;
    try {
      if (request.refusal !== undefined) throw request.refusal;
      rejectCredentialsInQuery(request.query);
      params = readTokenParameters(request.body);
      const grant = params.get('grant_type');
      if (grant === undefined) throw new InvalidRequest('grant_type is missing; this server supports grant_type=client_credentials');
      if (grant !== clientCredentials) {
        // Echo the value only if it looks like a grant type name: a client that put its secret in the
        // wrong field must not get it back in an error (which may end up in its own logs).
        const shown = /^[a-z][a-z0-9_:./-]{0,60}$/.test(grant) ? `'${grant}'` : 'sent';
        throw new UnsupportedGrantType(`the grant_type ${shown} is not supported; this server supports client_credentials`);
      }

      const credentials = extractCredentials(request.authorization, params);
      outcome.clientId = storableClientId(credentials.clientId);

      let authenticated;
      try {
        const pending = authenticateThrottled(authenticator, deps.rateLimiter, credentials, request.ip);
        authenticated = pending instanceof Promise ? await pending : pending;
      } catch (error) {
        if (error instanceof InvalidClient) {
          // Attribute the failure to the integration, if the ID is real, for its usage and audit.
          const known = await deps.directory.find(credentials.clientId);
          outcome.integrationId = known?.integrationId;
          outcome.environmentId = known?.environmentId;
        }
        throw error;
      }
      const { client, secretGeneration } = authenticated;
      outcome.environmentId = client.environmentId;
      outcome.integrationId = client.integrationId;
      outcome.secretGeneration = secretGeneration;

      const { api, scopes } = resolveClientCredentialsGrant(deps.apis, client, params);
      outcome.audience = api.audience;
      outcome.scopes = scopes;

      const cacheKey = { integrationId: client.integrationId, apiId: api.id, scopes, grantVersion: client.grantVersion, secretGeneration, tokensNotBefore: client.tokensNotBefore };
      // Read before the token: a memo entry must not outlive a replacement made while it is written.
      const cacheEpoch = deps.tokenCache.epoch;
      const found = deps.tokenCache.getOrMint(cacheKey, (sealing) => {
        const now = deps.clock.now();
        const claims = { issuer: deps.issuer, audience: api.audience, clientId: client.clientId, environmentId: client.environmentId, scopes };
        return mintAccessToken(deps.keyStore.signer(now), claims, now, deps.tokenTtlSeconds, sealing, client.tokensNotBefore);
      });
      const { token, minted } = found instanceof Promise ? await found : found;
      outcome.outcome = minted ? 'minted' : 'cached';
      const scopeText = scopes.join(' ');
      // Only a request answered from the cache is remembered: a mint is the first request for its
      // token, and most keys never repeat (a client asking once per token lifetime); remembering every
      // mint filled the memo with entries that are never read.
      if (remember && !minted) {
        const secret = client.secrets.find((candidate) => candidate.generation === secretGeneration);
        repeats.remember({
          authorization: request.authorization,
          contentType: request.body.contentType,
          text: request.body.text,
          next: undefined,
          clientId: client.clientId,
          record: client,
          secretExpiresAt: secret?.expiresAt ?? null,
          token,
          cacheEpoch,
          api,
          scopes,
          scopeText,
          secretGeneration,
          response: undefined,
          renderedForSecond: 0,
        });
      }
      return tokenResponse(token, scopeText, Math.floor(deps.clock.now() / 1000));
    } catch (error) {
      // Only requests that miss the in-memory caches can meet an unavailable database: cached tokens keep being served.
      const oauthError = toOAuthError(error, deps.logger, '/oauth/token');
      outcome.outcome = oauthError.error;
      outcome.statusCode = oauthError.statusCode;
      await describeFailure(outcome, request, params);
      return oauthErrorResponse(oauthError);
    } finally {
      deps.onOutcome?.(outcome);
    }
  };

  /** Completes the audit record of a failed request: who sent it and what it asked for. */
  const describeFailure = async (outcome: TokenRequestOutcome, request: TokenEndpointRequest, params: TokenParameters | undefined): Promise<void> => {
    if (outcome.integrationId === undefined) {
      const found = await attributeFailure({ authenticator, rateLimiter: deps.rateLimiter, directory: deps.directory }, request, params, outcome.clientId);
      outcome.clientId = found.clientId;
      outcome.integrationId = found.integrationId;
      outcome.environmentId = found.environmentId;
    }
    if (outcome.audience === undefined && params !== undefined) {
      const requested = describeRequestedGrant(deps.apis, params);
      outcome.audience = requested.audience;
      outcome.scopes = requested.scopes;
    }
  };

  return (request) => {
    if (request.refusal !== undefined || hasQuery(request) || !repeats.accepts(request)) return answer(request, false);
    const repeat = repeats.get(request);
    return (repeat !== undefined && answerRepeat(request, repeat)) || answer(request, true);
  };
}
