import { TokenNetworkError, TokenRequestError, TokenResponseError } from './errors.ts';
import { basicAuthorization, formUrlEncode } from './form-encode.ts';
import { readExpiresIn, readJsonObject, readOAuthError } from './oauth-response.ts';
import { isHttpUrl, nonNegative, normaliseScope, requireText } from './options.ts';
import { RefreshingCache } from './refreshing-cache.ts';
import { backoffDelay, parseRetryAfter } from './retry.ts';

/** A `fetch`-compatible function (the global one by default). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** How the client authenticates to the token endpoint (RFC 6749 §2.3.1). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** Options for {@link TokenClient}. */
export interface TokenClientOptions {
  /** The token endpoint, e.g. `https://latchkey.example.com/oauth/token`. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The API the token is for (`audience` parameter); the server's default API when absent. */
  readonly audience?: string | undefined;
  /** Scopes to ask for (space-separated string or list); every granted scope when absent. */
  readonly scope?: string | readonly string[] | undefined;
  /** Default `client_secret_basic`. */
  readonly authMethod?: ClientAuthMethod | undefined;
  /**
   * Fetch a new token when less than this many seconds of the current one remain. Default 60.
   * Capped at half the token's lifetime, so a short-lived token is not refetched on every call.
   */
  readonly refreshAheadSeconds?: number | undefined;
  /** Retries after a network error, a 5xx or a 429. Default 3. */
  readonly retries?: number | undefined;
  /** Base of the exponential backoff, milliseconds. Default 200. */
  readonly retryDelayMs?: number | undefined;
  /**
   * Longest wait between attempts, milliseconds. Default 10000. A `Retry-After` longer than this is
   * not waited out: the error is raised at once with `retryAfterSeconds`, for the caller to decide.
   */
  readonly maxRetryDelayMs?: number | undefined;
  /** Abort one attempt after this many milliseconds (counts as a network error). Default 10000. */
  readonly timeoutMs?: number | undefined;
  /** The `fetch` to use. Default: the global one. */
  readonly fetch?: FetchLike | undefined;
  /** The clock, milliseconds since the epoch. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
  /** How to wait between retries. Default `setTimeout`; tests pass their own. */
  readonly sleep?: ((milliseconds: number) => Promise<void>) | undefined;
}

/** A token response (RFC 6749 §5.1), as held by the client. */
export interface TokenResponse {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Whole seconds the token has left now; `undefined` if the server did not say. */
  readonly expiresIn: number | undefined;
  /** When the token expires, milliseconds since the epoch; `undefined` if the server did not say. */
  readonly expiresAt: number | undefined;
  /** The granted scopes (space-separated), as the server listed them. */
  readonly scope: string | undefined;
  /** The JSON body exactly as the server sent it. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Options for {@link TokenClient.exchangeForBrowserToken}. */
export interface BrowserTokenExchangeOptions {
  /** Scopes for the browser token (read scopes only); the subject token's read scopes when absent. */
  readonly scope?: string | readonly string[] | undefined;
  /**
   * The page's `DPoP` proof (RFC 9449 §4.2, for `POST` to the token endpoint), passed to Latchkey
   * unchanged: the browser token is then bound to the page's key (`token_type: DPoP`).
   */
  readonly dpopProof?: string | undefined;
}

/** A browser token (RFC 8693 §2.2.1), as {@link TokenClient.exchangeForBrowserToken} returns it. */
export interface BrowserTokenResponse {
  readonly accessToken: string;
  /** `DPoP` when bound to the proof's key, `Bearer` when no proof was sent. */
  readonly tokenType: 'DPoP' | 'Bearer';
  /** Whole seconds the token has left; `undefined` if the server did not say. */
  readonly expiresIn: number | undefined;
  /** The granted scopes (space-separated), as the server listed them. */
  readonly scope: string | undefined;
}

/** RFC 8693 §2.1 / §3: the grant and the one token type Latchkey exchanges. */
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** A compact JWS (a DPoP proof's shape): three base64url parts, nothing else. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface CachedToken {
  readonly accessToken: string;
  readonly scope: string | undefined;
  readonly raw: Readonly<Record<string, unknown>>;
  readonly expiresAt: number | undefined;
  /** From this moment on, getToken() fetches a new token. */
  readonly refreshAt: number;
}

/** Environment variables read by {@link TokenClient.fromEnv}. */
export type TokenClientEnv = Readonly<Record<string, string | undefined>>;

const defaultSleep = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Gets OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) from Latchkey and keeps them in memory.
 *
 * `getToken()` returns the cached token until `refreshAheadSeconds` before it expires; concurrent
 * callers share one request; network errors, 5xx and 429 are retried with exponential backoff,
 * full jitter and `Retry-After`; a 4xx raises {@link TokenRequestError}. Works in Node 20 and
 * browsers (global `fetch`, no dependencies) — but a client secret belongs on a server.
 *
 * @example
 * import { TokenClient } from '@latchkey/client';
 *
 * const tokens = new TokenClient({
 *   tokenUrl: 'https://latchkey.example.com/oauth/token',
 *   clientId: process.env.LATCHKEY_CLIENT_ID!,
 *   clientSecret: process.env.LATCHKEY_CLIENT_SECRET!,
 *   scope: 'templates:read',
 * });
 * const response = await fetch(url, { headers: { authorization: `Bearer ${await tokens.getToken()}` } });
 */
export class TokenClient {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly audience: string | undefined;
  readonly scope: string | undefined;
  readonly authMethod: ClientAuthMethod;
  // Private fields: never shown by console.log / util.inspect.
  readonly #clientSecret: string;
  readonly #basic: string | undefined;
  readonly #refreshAheadMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #sleep: (milliseconds: number) => Promise<void>;
  readonly #cache: RefreshingCache<CachedToken>;

  constructor(options: TokenClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('TokenClient needs an options object');
    if (!isHttpUrl(options.tokenUrl)) {
      throw new TypeError('tokenUrl must be an absolute http(s) URL');
    }
    requireText(options.clientId, 'clientId');
    requireText(options.clientSecret, 'clientSecret');
    if (options.clientSecret === options.clientId) {
      // The most common copy-paste mistake (two of the seed's samples make it): say so before the server does.
      throw new TypeError('clientSecret equals clientId: pass the Client Secret, not the Client ID, as the secret');
    }
    if (options.audience !== undefined) requireText(options.audience, 'audience');
    const authMethod = options.authMethod ?? 'client_secret_basic';
    if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') {
      throw new TypeError("authMethod must be 'client_secret_basic' or 'client_secret_post'");
    }
    this.tokenUrl = options.tokenUrl;
    this.clientId = options.clientId;
    this.audience = options.audience;
    this.scope = normaliseScope(options.scope);
    this.authMethod = authMethod;
    this.#clientSecret = options.clientSecret;
    this.#basic = authMethod === 'client_secret_basic' ? basicAuthorization(options.clientId, options.clientSecret) : undefined;
    this.#refreshAheadMs = nonNegative(options.refreshAheadSeconds, 60, 'refreshAheadSeconds') * 1000;
    this.#retries = nonNegative(options.retries, 3, 'retries');
    if (!Number.isInteger(this.#retries)) throw new TypeError('retries must be a whole number');
    this.#retryDelayMs = nonNegative(options.retryDelayMs, 200, 'retryDelayMs');
    this.#maxRetryDelayMs = nonNegative(options.maxRetryDelayMs, 10_000, 'maxRetryDelayMs');
    this.#timeoutMs = nonNegative(options.timeoutMs, 10_000, 'timeoutMs');
    const userFetch = options.fetch;
    if (userFetch !== undefined && typeof userFetch !== 'function') throw new TypeError('fetch must be a function');
    // A wrapper, so window.fetch is never called with `this` set to the client ("Illegal invocation").
    this.#fetch = userFetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#cache = new RefreshingCache(() => this.#requestWithRetries(), this.#now);
  }

  /**
   * A client configured from environment variables, as the Latchkey docs advise (keep secrets out
   * of code): `LATCHKEY_TOKEN_URL` (or `LATCHKEY_ISSUER`, to which `/oauth/token` is appended),
   * `LATCHKEY_CLIENT_ID`, `LATCHKEY_CLIENT_SECRET`, and optionally `LATCHKEY_AUDIENCE` and
   * `LATCHKEY_SCOPE`. `overrides` win over the environment. A missing variable is a TypeError
   * naming it.
   *
   * @example
   * const tokens = TokenClient.fromEnv();                         // process.env
   * const other = TokenClient.fromEnv(myEnv, { scope: 'media:read' });
   */
  static fromEnv(env?: TokenClientEnv, overrides: Partial<TokenClientOptions> = {}): TokenClient {
    const source = env ?? (globalThis as { process?: { env?: TokenClientEnv } }).process?.env;
    if (source === undefined) throw new TypeError('no process.env here: pass the variables to TokenClient.fromEnv(env)');
    const read = (name: string): string | undefined => {
      const value = source[name];
      return value === undefined || value.trim() === '' ? undefined : value.trim();
    };
    const issuer = read('LATCHKEY_ISSUER');
    const tokenUrl = overrides.tokenUrl ?? read('LATCHKEY_TOKEN_URL') ?? (issuer === undefined ? undefined : `${issuer.replace(/\/+$/, '')}/oauth/token`);
    if (tokenUrl === undefined) throw new TypeError('LATCHKEY_TOKEN_URL (or LATCHKEY_ISSUER) is not set');
    const clientId = overrides.clientId ?? read('LATCHKEY_CLIENT_ID');
    if (clientId === undefined) throw new TypeError('LATCHKEY_CLIENT_ID is not set');
    const clientSecret = overrides.clientSecret ?? read('LATCHKEY_CLIENT_SECRET');
    if (clientSecret === undefined) throw new TypeError('LATCHKEY_CLIENT_SECRET is not set');
    return new TokenClient({
      ...overrides,
      tokenUrl,
      clientId,
      clientSecret,
      audience: overrides.audience ?? read('LATCHKEY_AUDIENCE'),
      scope: overrides.scope ?? read('LATCHKEY_SCOPE'),
    });
  }

  /**
   * The access token: the cached one while more than `refreshAheadSeconds` remain, otherwise a new
   * one (one request however many callers are waiting).
   *
   * @example
   * headers.set('authorization', `Bearer ${await tokens.getToken()}`);
   */
  async getToken(): Promise<string> {
    return (await this.getTokenResponse()).accessToken;
  }

  /**
   * The whole token response (`accessToken`, `expiresIn` counted down to now, `scope`, `raw`),
   * with the same caching as {@link TokenClient.getToken}.
   *
   * @example
   * const { accessToken, expiresIn, scope } = await tokens.getTokenResponse();
   */
  async getTokenResponse(): Promise<TokenResponse> {
    return this.#view(await this.#cache.get());
  }

  /**
   * Exchanges this client's own access token (the cached one, RFC 8693 `subject_token`) at Latchkey's
   * token endpoint for a short-lived, read-only **browser token** to hand to a page. With the page's
   * `dpopProof` the token is bound to the page's key (RFC 9449): copied out of the page it is useless.
   *
   * The integration must be allowed to mint browser tokens (Permissions tab, or
   * `latchkey integrations set-permissions <id> --browser-tokens`), else Latchkey answers
   * `unauthorized_client`. Errors are this client's: {@link TokenRequestError} (with Latchkey's
   * `error`, e.g. `invalid_scope` for a write scope, `invalid_dpop_proof` for a bad proof),
   * {@link TokenNetworkError}, {@link TokenResponseError}.
   *
   * Without a proof, network errors, 5xx and 429 are retried like `getToken()`; a proof is
   * single-use (RFC 9449 §11.1), so an exchange carrying one is sent once and the page asks again
   * with a fresh proof. A subject token Latchkey no longer accepts (`invalid_grant`, e.g. revoked)
   * is dropped from the cache; without a proof the exchange is repeated once with a new one.
   *
   * @example
   * // In the route the page calls (see also browserTokenHandler):
   * const { accessToken, tokenType, expiresIn, scope } = await tokens.exchangeForBrowserToken({
   *   scope: ['fonts:read', 'media:read'],
   *   dpopProof: request.headers.dpop,
   * });
   */
  async exchangeForBrowserToken(options: BrowserTokenExchangeOptions = {}): Promise<BrowserTokenResponse> {
    if (typeof options !== 'object' || options === null) throw new TypeError('exchangeForBrowserToken takes an options object');
    const scope = normaliseScope(options.scope);
    const { dpopProof } = options;
    if (dpopProof !== undefined && (typeof dpopProof !== 'string' || !COMPACT_JWS.test(dpopProof))) {
      throw new TypeError('dpopProof must be one DPoP proof JWT (compact JWS)');
    }
    for (let attempt = 0; ; attempt += 1) {
      const subjectToken = await this.getToken();
      try {
        return await this.#exchange(subjectToken, scope, dpopProof);
      } catch (error) {
        if (!(error instanceof TokenRequestError) || error.error !== 'invalid_grant') throw error;
        // The subject token was refused (revoked, say): never offer it again.
        if (this.#cache.current?.accessToken === subjectToken) this.invalidate();
        if (attempt > 0 || dpopProof !== undefined) throw error;
      }
    }
  }

  async #exchange(subjectToken: string, scope: string | undefined, dpopProof: string | undefined): Promise<BrowserTokenResponse> {
    const fields: [string, string][] = [
      ['grant_type', TOKEN_EXCHANGE_GRANT],
      ['subject_token', subjectToken],
      ['subject_token_type', ACCESS_TOKEN_TYPE],
      ['requested_token_type', ACCESS_TOKEN_TYPE],
    ];
    if (this.audience !== undefined) fields.push(['audience', this.audience]);
    if (scope !== undefined) fields.push(['scope', scope]);
    const headers: Record<string, string> = dpopProof === undefined ? {} : { dpop: dpopProof };
    const { raw, startedAt } = await this.#postWithRetries(fields, headers, dpopProof === undefined ? this.#retries : 0, [subjectToken]);
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope: granted, issued_token_type: issued } = raw;
    if (typeof accessToken !== 'string' || accessToken === '') throw new TokenResponseError('token exchange response has no access_token');
    const type = typeof tokenType === 'string' ? tokenType.toLowerCase() : undefined;
    if (type !== 'dpop' && type !== 'bearer') throw new TokenResponseError('token exchange response token_type is neither DPoP nor Bearer');
    if (issued !== undefined && issued !== ACCESS_TOKEN_TYPE) throw new TokenResponseError('token exchange response issued_token_type is not an access token');
    const lifetime = readExpiresIn(expiresIn);
    if (lifetime === null) throw new TokenResponseError('token exchange response expires_in is not a non-negative number');
    // Counted down from when the request was sent, as getTokenResponse() does.
    const remaining = lifetime === undefined ? undefined : Math.max(0, Math.floor((startedAt + lifetime * 1000 - this.#now()) / 1000));
    return { accessToken, tokenType: type === 'dpop' ? 'DPoP' : 'Bearer', expiresIn: remaining, scope: typeof granted === 'string' ? granted : undefined };
  }

  /**
   * Forgets the cached token, so the next call fetches a new one (e.g. after an API answered 401).
   *
   * @example
   * tokens.invalidate();
   */
  invalidate(): void {
    this.#cache.invalidate();
  }

  async #requestWithRetries(): Promise<CachedToken> {
    const fields: [string, string][] = [['grant_type', 'client_credentials']];
    if (this.audience !== undefined) fields.push(['audience', this.audience]);
    if (this.scope !== undefined) fields.push(['scope', this.scope]);
    const { raw, startedAt } = await this.#postWithRetries(fields, {}, this.#retries, []);
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = raw;
    if (typeof accessToken !== 'string' || accessToken === '') throw new TokenResponseError('token response has no access_token');
    // RFC 6749 §7.1: the token type is case-insensitive.
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
      throw new TokenResponseError('token response token_type is not Bearer');
    }
    // RFC 6749 §5.1 makes expires_in optional.
    const lifetime = readExpiresIn(expiresIn);
    if (lifetime === null) throw new TokenResponseError('token response expires_in is not a non-negative number');
    // Measured from when the request was sent, so the time the answer took is not counted as lifetime.
    const expiresAt = lifetime === undefined ? undefined : startedAt + lifetime * 1000;
    // Without expires_in there is nothing to cache safely: every call asks again.
    const refreshAt = expiresAt === undefined ? startedAt : expiresAt - Math.min(this.#refreshAheadMs, (lifetime as number) * 500);
    return { accessToken, scope: typeof scope === 'string' ? scope : undefined, raw, expiresAt, refreshAt };
  }

  /**
   * POSTs a grant to the token endpoint with the client's authentication, retrying network errors,
   * 5xx and 429 up to `retries` times, and returns the 2xx JSON body and when the last attempt started.
   * `secrets` (besides the client secret) are kept out of error messages.
   */
  async #postWithRetries(
    grant: readonly [string, string][],
    extraHeaders: Record<string, string>,
    retries: number,
    secrets: readonly string[],
  ): Promise<{ raw: Readonly<Record<string, unknown>>; startedAt: number }> {
    const fields = this.authMethod === 'client_secret_post' ? [...grant, ['client_id', this.clientId], ['client_secret', this.#clientSecret]] : grant;
    const body = fields.map(([name, value]) => `${name}=${formUrlEncode(value)}`).join('&');
    for (let attempt = 0; ; attempt += 1) {
      const startedAt = this.#now();
      let response: Response;
      try {
        response = await this.#fetch(this.tokenUrl, {
          method: 'POST',
          headers: { ...this.#headers(), ...extraHeaders },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (cause) {
        if (attempt < retries) {
          await this.#sleep(backoffDelay(attempt, this.#retryDelayMs, this.#maxRetryDelayMs));
          continue;
        }
        throw new TokenNetworkError({ cause, attempts: attempt + 1 });
      }
      if (response.ok) {
        const raw = readJsonObject(await response.text());
        if (typeof raw === 'string') throw new TokenResponseError(`token endpoint answered HTTP ${response.status} ${raw}`);
        return { raw: Object.freeze({ ...raw }), startedAt };
      }

      const text = await response.text().catch(() => '');
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      const error = this.#requestError(response.status, text, retryAfterMs, secrets);
      const retryable = response.status >= 500 || response.status === 429;
      // A server asking for more patience than we are configured to show gets its answer at once.
      if (!retryable || attempt >= retries || (retryAfterMs !== undefined && retryAfterMs > this.#maxRetryDelayMs)) {
        throw error;
      }
      await this.#sleep(retryAfterMs ?? backoffDelay(attempt, this.#retryDelayMs, this.#maxRetryDelayMs));
    }
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.#basic !== undefined) headers.authorization = this.#basic;
    return headers;
  }

  #requestError(status: number, text: string, retryAfterMs: number | undefined, secrets: readonly string[]): TokenRequestError {
    const { error, errorDescription } = readOAuthError(status, text);
    return new TokenRequestError({
      status,
      error,
      errorDescription: this.#redact(errorDescription, secrets),
      retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
    });
  }

  /** The secret (and any token sent) never reaches an error message, even if a server were to echo it. */
  #redact(text: string | undefined, secrets: readonly string[]): string | undefined {
    if (text === undefined) return undefined;
    let result = text;
    const forms = [this.#clientSecret, ...secrets].flatMap((secret) => [secret, formUrlEncode(secret)]);
    for (const form of new Set(forms)) result = result.split(form).join('[redacted]');
    return result;
  }

  #view(token: CachedToken): TokenResponse {
    const remaining = token.expiresAt === undefined ? undefined : Math.max(0, Math.floor((token.expiresAt - this.#now()) / 1000));
    return {
      accessToken: token.accessToken,
      tokenType: 'Bearer',
      expiresIn: remaining,
      expiresAt: token.expiresAt,
      scope: token.scope,
      raw: token.raw,
    };
  }
}
