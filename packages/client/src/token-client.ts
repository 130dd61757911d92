import { TokenNetworkError, TokenRequestError, TokenResponseError } from './errors.ts';
import { basicAuthorization, formUrlEncode } from './form-encode.ts';
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
  #cached: CachedToken | undefined;
  #inflight: Promise<CachedToken> | undefined;
  /** Bumped by invalidate(): a request started before it must not refill the cache. */
  #generation = 0;

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
    const cached = this.#cached;
    if (cached !== undefined && this.#now() < cached.refreshAt) return this.#view(cached);
    try {
      return this.#view(await this.#refresh());
    } catch (error) {
      // Refreshing ahead is an optimisation: while the old token is still valid, a failed refresh
      // should not fail the caller. The next call tries again.
      if (cached !== undefined && cached === this.#cached && cached.expiresAt !== undefined && this.#now() < cached.expiresAt) {
        return this.#view(cached);
      }
      throw error;
    }
  }

  /**
   * Forgets the cached token, so the next call fetches a new one (e.g. after an API answered 401).
   *
   * @example
   * tokens.invalidate();
   */
  invalidate(): void {
    this.#generation += 1;
    this.#cached = undefined;
    this.#inflight = undefined;
  }

  #refresh(): Promise<CachedToken> {
    if (this.#inflight !== undefined) return this.#inflight;
    const generation = this.#generation;
    const request = this.#requestWithRetries().then((token) => {
      if (generation === this.#generation) this.#cached = token;
      return token;
    });
    const settled = (): void => {
      if (this.#inflight === request) this.#inflight = undefined;
    };
    request.then(settled, settled);
    this.#inflight = request;
    return request;
  }

  async #requestWithRetries(): Promise<CachedToken> {
    for (let attempt = 0; ; attempt += 1) {
      const startedAt = this.#now();
      let response: Response;
      try {
        response = await this.#fetch(this.tokenUrl, {
          method: 'POST',
          headers: this.#headers(),
          body: this.#body(),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (cause) {
        if (attempt < this.#retries) {
          await this.#sleep(backoffDelay(attempt, this.#retryDelayMs, this.#maxRetryDelayMs));
          continue;
        }
        throw new TokenNetworkError({ cause, attempts: attempt + 1 });
      }
      if (response.ok) return this.#parseSuccess(response, startedAt);

      const text = await response.text().catch(() => '');
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      const error = this.#requestError(response.status, text, retryAfterMs);
      const retryable = response.status >= 500 || response.status === 429;
      // A server asking for more patience than we are configured to show gets its answer at once.
      if (!retryable || attempt >= this.#retries || (retryAfterMs !== undefined && retryAfterMs > this.#maxRetryDelayMs)) {
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

  #body(): string {
    const fields: [string, string][] = [['grant_type', 'client_credentials']];
    if (this.audience !== undefined) fields.push(['audience', this.audience]);
    if (this.scope !== undefined) fields.push(['scope', this.scope]);
    if (this.authMethod === 'client_secret_post') {
      fields.push(['client_id', this.clientId], ['client_secret', this.#clientSecret]);
    }
    return fields.map(([name, value]) => `${name}=${formUrlEncode(value)}`).join('&');
  }

  async #parseSuccess(response: Response, startedAt: number): Promise<CachedToken> {
    let body: unknown;
    try {
      body = JSON.parse(await response.text());
    } catch {
      throw new TokenResponseError(`token endpoint answered HTTP ${response.status} without a JSON body`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new TokenResponseError('token response is not a JSON object');
    }
    const raw = Object.freeze({ ...(body as Record<string, unknown>) });
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = raw;
    if (typeof accessToken !== 'string' || accessToken === '') throw new TokenResponseError('token response has no access_token');
    // RFC 6749 §7.1: the token type is case-insensitive.
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
      throw new TokenResponseError('token response token_type is not Bearer');
    }
    // Some servers send expires_in as a numeric string; RFC 6749 §5.1 makes it optional.
    const lifetime = typeof expiresIn === 'string' && /^\d+$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
    if (lifetime !== undefined && (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime < 0)) {
      throw new TokenResponseError('token response expires_in is not a non-negative number');
    }
    // Measured from when the request was sent, so the time the answer took is not counted as lifetime.
    const expiresAt = lifetime === undefined ? undefined : startedAt + lifetime * 1000;
    // Without expires_in there is nothing to cache safely: every call asks again.
    const refreshAt = expiresAt === undefined ? startedAt : expiresAt - Math.min(this.#refreshAheadMs, (lifetime as number) * 500);
    return { accessToken, scope: typeof scope === 'string' ? scope : undefined, raw, expiresAt, refreshAt };
  }

  #requestError(status: number, text: string, retryAfterMs: number | undefined): TokenRequestError {
    let error: string | undefined;
    let description: string | undefined;
    try {
      const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
      if (typeof body.error === 'string') error = body.error;
      if (typeof body.error_description === 'string') description = body.error_description;
    } catch {
      // Not RFC 6749 §5.2 JSON (a proxy's HTML page, say): fall back to the status below.
    }
    return new TokenRequestError({
      status,
      error: printable(error, 64) ?? (status === 429 || status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : 'invalid_request'),
      errorDescription: this.#redact(printable(description, 300)),
      retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
    });
  }

  /** The secret never reaches an error message, even if a server were to echo it. */
  #redact(text: string | undefined): string | undefined {
    if (text === undefined) return undefined;
    let result = text;
    for (const form of new Set([this.#clientSecret, formUrlEncode(this.#clientSecret)])) result = result.split(form).join('[redacted]');
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

/** `URL.canParse` is too recent for some browsers still in use. */
function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

function requireText(value: unknown, name: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
}

function normaliseScope(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const list = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? (scope as unknown[]) : undefined;
  if (list === undefined || !list.every((item) => typeof item === 'string')) {
    throw new TypeError('scope must be a space-separated string or an array of strings');
  }
  const joined = (list as string[]).filter((item) => item !== '').join(' ');
  return joined === '' ? undefined : joined;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}

/** Printable ASCII only, truncated: server text goes into error messages and logs. */
function printable(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const cleaned = text.replace(/[^\x20-\x7E]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max)}...` : cleaned;
}
