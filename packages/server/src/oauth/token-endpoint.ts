import type { Logger } from 'pino';
import type { Clock } from '../support/clock.ts';
import type { ApiCatalogue } from '../platform/apis.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { authenticateThrottled, ClientAuthenticator, extractCredentials, storableClientId } from './client-authentication.ts';
import type { ClientRecord } from './client-directory.ts';
import { InvalidClient, InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedGrantType } from './errors.ts';
import { toOAuthError, type OAuthEndpointRequest } from './endpoint-support.ts';
import type { FailureRateLimiter } from './failure-rate-limiter.ts';
import { attributeFailure } from './failure-attribution.ts';
import { describeRequestedGrant, grantType as clientCredentials, resolveClientCredentialsGrant } from './grants/client-credentials.ts';
import {
  ACCESS_TOKEN_TYPE,
  browserTokenLifetime,
  grantType as tokenExchange,
  resolveTokenExchangeGrant,
  type TokenExchangeDeps,
} from './grants/token-exchange.ts';
import type { DpopBinding } from './dpop-binding.ts';
import { mintAccessToken, mintUnstoredAccessToken, type MintedToken } from './mint-access-token.ts';
import type { TokenCache } from './token-cache.ts';
import { readTokenParameters, rejectCredentialsInQuery, type TokenParameters } from './token-request.ts';
import type { HotPathCaches } from './hot-path-caches.ts';
import type { IssuedToken, TokenEndpointResult } from './token-response.ts';
import type { MaybePromise } from '../support/maybe-promise.ts';

export type { IssuedToken, TokenEndpointResult };

/** A token request as the HTTP layer hands it over: no framework types. Its body is read only when it is not an exact repeat. */
export interface TokenEndpointRequest extends OAuthEndpointRequest {
  /**
   * Set when the HTTP layer refused the request before reading it (a method other than POST, an
   * oversized body, a repeated Authorization header): the endpoint answers with this error and
   * records it like any other failure (checklist 30).
   */
  refusal?: OAuthError;
  /**
   * The `Origin` header, if any: the request comes from a browser. Such a request never takes the
   * exact-repeat path, and client_credentials from a browser is refused unless its environment allows it.
   */
  origin?: string | undefined;
  /** The `DPoP` header (RFC 9449 §4.1), if any: a proof that binds a browser token to a key. Never an exact repeat either. */
  dpop?: string | undefined;
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
  /** The grant asked for, if it is one this server supports (`client_credentials` or the token exchange URN). */
  grantType: string | undefined;
  /** A browser token (token exchange) only: whether it was bound to a key with DPoP. */
  dpopBound?: boolean;
}

/** A browser `Origin` seen with an authenticated client at the token endpoint (its integration's browserUse); storage bounds and cleans it. */
export interface BrowserUse {
  integrationId: string;
  origin: string;
  ip: string;
  at: number;
}

/** Dependencies of the token endpoint. */
export interface TokenEndpointDeps {
  issuer: string;
  apis: ApiCatalogue;
  clock: Clock;
  logger: Logger;
  /** The client directory, verified-secret memo and repeat memo, with their invalidation contract. */
  caches: HotPathCaches;
  secretHashKey: Buffer;
  keyStore: KeyStore;
  tokenCache: TokenCache;
  rateLimiter: FailureRateLimiter;
  tokenTtlSeconds: number;
  /** How a token exchange checks its subject token (own-token-verifier.ts, the revocation list). */
  exchange: Omit<TokenExchangeDeps, 'apis'>;
  /** Checks the DPoP proof of a token exchange and answers its key's thumbprint (dpop-binding.ts). */
  dpopBinding: DpopBinding;
  /**
   * Records that an authenticated client's request carried a browser Origin (storage: the integration's
   * browser_use_* columns), whether the request is then refused or not. A failure is logged, never answered.
   */
  recordBrowserUse: (use: BrowserUse) => Promise<void>;
  /** Called once per request with its outcome. */
  onOutcome?: (outcome: TokenRequestOutcome) => void;
}

/** The values of a token response (RFC 6749 §5.1) for `token`, as of `nowSecond`. */
function issuedToken(token: MintedToken, scope: string, nowSecond: number): IssuedToken {
  return { accessToken: token.token, expiresIn: Math.max(0, Math.floor(token.expiresAt / 1000) - nowSecond), scope };
}

/** The refusal of client_credentials from a browser: a client secret in a page is the mistake the seed warns about. */
const CLIENT_CREDENTIALS_FROM_BROWSER =
  'client_credentials must not be requested from a browser (this request has an Origin header): a client secret in a web page can be read by any script on it. ' +
  'Keep the secret on your backend, and hand the page a short-lived read-only browser token: the backend exchanges its own token with ' +
  `grant_type=${tokenExchange} (docs/browser-tokens.md). An environment admin can allow it anyway (latchkey environments set-browser-tokens <env> --allow-client-credentials-from-browser)`;

/**
 * The token endpoint: answers synchronously when the request is an exact repeat served from memory
 * (the one place a value-or-promise is measured to matter; see MaybePromise), else a promise.
 */
export type TokenEndpoint = (request: TokenEndpointRequest) => MaybePromise<TokenEndpointResult>;

/**
 * `POST /oauth/token`, framework-free: parse, check the grant type, authenticate the client
 * (rate-limited on failures), then dispatch on the grant. Client credentials (RFC 6749 §4.4): refuse
 * a browser, resolve audience and scopes, answer the cached token or mint one. Token exchange
 * (RFC 8693, grants/token-exchange.ts): mint a browser token.
 */
export function createTokenEndpoint(deps: TokenEndpointDeps): TokenEndpoint {
  const { caches } = deps;
  const authenticator = new ClientAuthenticator(caches, deps.secretHashKey, deps.clock);

  // An exact repeat of a request that succeeded skips parsing, Basic decoding, the secret comparison
  // and scope resolution, as long as the hot-path caches still vouch for it (hot-path-caches.ts says
  // when they stop) and the client is not rate-limited. Anything else takes the full path.

  // A query string makes a request unusual (and possibly an error): it always takes the full path.
  const hasQuery = (request: TokenEndpointRequest): boolean => request.query !== undefined && Object.keys(request.query).length > 0;

  /** Answers an exact repeat from memory, synchronously; undefined when the full path must run. */
  const answerRepeat = (request: TokenEndpointRequest, now: number): IssuedToken | undefined => {
    const repeat = caches.findRepeat(request, now);
    if (repeat === undefined) return undefined;
    if (deps.rateLimiter.check(request.ip, repeat.clientId, now)) {
      caches.forgetRepeat(repeat);
      return undefined;
    }
    deps.onOutcome?.({
      clientId: repeat.clientId,
      integrationId: repeat.record.integrationId,
      secretGeneration: repeat.secretGeneration,
      environmentId: repeat.record.environmentId,
      audience: repeat.audience,
      scopes: repeat.scopes,
      ip: request.ip,
      outcome: 'cached',
      statusCode: 200,
      grantType: clientCredentials,
    });
    const second = Math.floor(now / 1000);
    if (repeat.issued === undefined || repeat.issuedForSecond !== second) {
      repeat.issued = issuedToken(repeat.token, repeat.scopeText, second);
      repeat.issuedForSecond = second;
    }
    return repeat.issued;
  };

  const answer = async (request: TokenEndpointRequest, remember: boolean): Promise<TokenEndpointResult> => {
    const outcome: TokenRequestOutcome = {
      clientId: undefined,
      integrationId: undefined,
      secretGeneration: undefined,
      environmentId: undefined,
      audience: undefined,
      scopes: [],
      ip: request.ip,
      outcome: '',
      statusCode: 200,
      grantType: undefined,
    };
    let params: TokenParameters | undefined;
    try {
      if (request.refusal !== undefined) throw request.refusal;
      rejectCredentialsInQuery(request.query);
      params = readTokenParameters(request.body);
      const grant = params.get('grant_type');
      if (grant === undefined) throw new InvalidRequest(`grant_type is missing; this server supports grant_type=client_credentials and grant_type=${tokenExchange}`);
      if (grant !== clientCredentials && grant !== tokenExchange) {
        // Echo the value only if it looks like a grant type name: a client that put its secret in the
        // wrong field must not get it back in an error (which may end up in its own logs).
        const shown = /^[a-z][a-z0-9_:./-]{0,60}$/.test(grant) ? `'${grant}'` : 'sent';
        throw new UnsupportedGrantType(`the grant_type ${shown} is not supported; this server supports client_credentials and ${tokenExchange}`);
      }
      outcome.grantType = grant;

      const credentials = extractCredentials(request.authorization, params);
      outcome.clientId = storableClientId(credentials.clientId);

      let authenticated;
      try {
        authenticated = await authenticateThrottled(authenticator, deps.rateLimiter, credentials, request.ip);
      } catch (error) {
        if (error instanceof InvalidClient) {
          // Attribute the failure to the integration, if the ID is real, for its usage and audit.
          const known = await caches.findClient(credentials.clientId);
          outcome.integrationId = known?.integrationId;
          outcome.environmentId = known?.environmentId;
        }
        throw error;
      }
      const { client, secretGeneration } = authenticated;
      outcome.environmentId = client.environmentId;
      outcome.integrationId = client.integrationId;
      outcome.secretGeneration = secretGeneration;

      if (request.origin !== undefined) await noteBrowserUse(client.integrationId, request.origin, request.ip);
      if (grant === tokenExchange) return await exchange(request, params, client, outcome);
      if (request.origin !== undefined && !client.allowClientCredentialsFromBrowser) throw new UnauthorizedClient(CLIENT_CREDENTIALS_FROM_BROWSER);

      const { api, scopes } = resolveClientCredentialsGrant(deps.apis, client, params);
      outcome.audience = api.audience;
      outcome.scopes = scopes;

      const cacheKey = { integrationId: client.integrationId, apiId: api.id, scopes, grantVersion: client.grantVersion, secretGeneration, tokensNotBefore: client.tokensNotBefore };
      // Read before the token: a memo entry must not outlive a replacement made while it is written.
      const cacheEpoch = deps.tokenCache.epoch;
      const { token, minted } = await deps.tokenCache.getOrMint(cacheKey, (sealing) => {
        const now = deps.clock.now();
        const claims = { issuer: deps.issuer, audience: api.audience, clientId: client.clientId, environmentId: client.environmentId, scopes };
        return mintAccessToken(deps.keyStore.signer(now), claims, now, deps.tokenTtlSeconds, sealing, client.tokensNotBefore);
      });
      outcome.outcome = minted ? 'minted' : 'cached';
      const scopeText = scopes.join(' ');
      // Only a request answered from the cache is remembered: a mint is the first request for its
      // token, and most keys never repeat (a client asking once per token lifetime); remembering every
      // mint filled the memo with entries that are never read.
      if (remember && !minted) {
        const secret = client.secrets.find((candidate) => candidate.generation === secretGeneration);
        caches.rememberRepeat({
          authorization: request.authorization,
          contentType: request.body.contentType,
          text: request.body.text,
          next: undefined,
          clientId: client.clientId,
          record: client,
          secretGeneration,
          secretExpiresAt: secret?.expiresAt ?? null,
          token,
          cacheEpoch,
          audience: api.audience,
          scopes,
          scopeText,
          issued: undefined,
          issuedForSecond: 0,
        });
      }
      return issuedToken(token, scopeText, Math.floor(deps.clock.now() / 1000));
    } catch (error) {
      // Only requests that miss the in-memory caches can meet an unavailable database: cached tokens keep being served.
      const oauthError = toOAuthError(error, deps.logger, '/oauth/token');
      outcome.outcome = oauthError.error;
      outcome.statusCode = oauthError.statusCode;
      await describeFailure(outcome, request, params);
      return oauthError;
    } finally {
      deps.onOutcome?.(outcome);
    }
  };

  /** Records a browser Origin on the integration; a failure to write it is logged and does not change the answer. */
  const noteBrowserUse = async (integrationId: string, origin: string, ip: string): Promise<void> => {
    try {
      await deps.recordBrowserUse({ integrationId, origin, ip, at: deps.clock.now() });
    } catch (error) {
      deps.logger.warn({ err: error, integrationId }, 'could not record a browser Origin seen at the token endpoint');
    }
  };

  const exchangeDeps: TokenExchangeDeps = { apis: deps.apis, ...deps.exchange };

  /**
   * The token exchange (RFC 8693; grants/token-exchange.ts): a browser token, minted for every
   * exchange (never from or into the token cache), bound to the DPoP proof's key when there is one.
   */
  const exchange = async (request: TokenEndpointRequest, params: TokenParameters, client: ClientRecord, outcome: TokenRequestOutcome): Promise<IssuedToken> => {
    const { api, scopes } = await resolveTokenExchangeGrant(exchangeDeps, client, params);
    outcome.audience = api.audience;
    outcome.scopes = scopes;
    // Checked last, so a request refused for another reason does not use up the proof's jti.
    const jkt = request.dpop === undefined ? undefined : await deps.dpopBinding(request.dpop);
    const now = deps.clock.now();
    const claims = { issuer: deps.issuer, audience: api.audience, clientId: client.clientId, environmentId: client.environmentId, scopes, browser: { actor: client.clientId, jkt } };
    const token = await mintUnstoredAccessToken(deps.keyStore.signer(now), claims, now, browserTokenLifetime(client, deps.tokenTtlSeconds), client.tokensNotBefore);
    outcome.outcome = 'minted';
    outcome.dpopBound = jkt !== undefined;
    return { ...issuedToken(token, scopes.join(' '), Math.floor(deps.clock.now() / 1000)), tokenType: jkt === undefined ? 'Bearer' : 'DPoP', issuedTokenType: ACCESS_TOKEN_TYPE };
  };

  /** Completes the audit record of a failed request: who sent it and what it asked for. */
  const describeFailure = async (outcome: TokenRequestOutcome, request: TokenEndpointRequest, params: TokenParameters | undefined): Promise<void> => {
    if (outcome.integrationId === undefined) {
      const found = await attributeFailure({ authenticator, rateLimiter: deps.rateLimiter, caches }, request, params, outcome.clientId);
      outcome.clientId = found.clientId;
      outcome.integrationId = found.integrationId;
      outcome.environmentId = found.environmentId;
    }
    if (outcome.audience === undefined && params !== undefined && outcome.grantType !== tokenExchange) {
      const requested = describeRequestedGrant(deps.apis, params);
      outcome.audience = requested.audience;
      outcome.scopes = requested.scopes;
    }
  };

  return (request) => {
    // A browser (Origin) or a DPoP proof makes a request one whose rules the memo does not apply: full path.
    if (request.refusal !== undefined || request.origin !== undefined || request.dpop !== undefined || hasQuery(request) || !caches.acceptsRepeat(request)) {
      return answer(request, false);
    }
    return answerRepeat(request, deps.clock.now()) ?? answer(request, true);
  };
}
