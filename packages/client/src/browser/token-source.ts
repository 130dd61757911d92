// The page's side of browser tokens: a DPoP key that never leaves WebCrypto, a bound read-only token
// obtained through the app's own backend, refreshed ahead of expiry, and a proof signed per request.
// Browser-only APIs (plus what Node 20 also has): no Buffer, no node: imports.

import { TokenNetworkError, TokenRequestError, TokenResponseError } from '../errors.ts';
import { readExpiresIn, readJsonObject, readOAuthError } from '../oauth-response.ts';
import { isHttpUrl, nonNegative, normaliseScope } from '../options.ts';
import { RefreshingCache } from '../refreshing-cache.ts';
import type { FetchLike } from '../token-client.ts';
import { generateDpopKey } from './dpop-key.ts';
import type { DpopKey } from './dpop-key.ts';
import { createDpopProof, httpMethod } from './dpop-proof.ts';

/** Options for {@link createBrowserTokenSource}. */
export interface BrowserTokenSourceOptions {
  /** The app backend's endpoint that answers with a browser token (e.g. one built with `browserTokenHandler`); relative to the page is fine. */
  readonly backendUrl: string;
  /** Latchkey's token endpoint (`<issuer>/oauth/token`): the `htu` of the proof the backend passes on. */
  readonly tokenEndpoint: string;
  /** Scopes to ask the backend for (space-separated or a list); the backend decides when absent. */
  readonly scope?: string | readonly string[] | undefined;
  /** Ask for a new token when less than this many seconds remain (at most half its lifetime). Default 60. */
  readonly refreshAheadSeconds?: number | undefined;
  /** Extra headers for the backend request (a CSRF token, say). */
  readonly headers?: HeadersInit | undefined;
  /** Abort the backend request after this many milliseconds. Default 10000. */
  readonly timeoutMs?: number | undefined;
  /** The `fetch` to use, for the backend and the APIs. Default: the global one. */
  readonly fetch?: FetchLike | undefined;
  /** The clock, milliseconds since the epoch (token expiry and the proofs' `iat`). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** The browser token the source holds. */
export interface BrowserToken {
  readonly accessToken: string;
  readonly tokenType: 'DPoP';
  /** When it expires, milliseconds since the epoch. */
  readonly expiresAt: number;
  /** The granted scopes (space-separated), as the backend listed them. */
  readonly scope: string | undefined;
}

/** What {@link createBrowserTokenSource} returns. */
export interface BrowserTokenSource {
  /**
   * A `fetch` that sends `Authorization: DPoP <token>` and a fresh `DPoP` proof (with `ath`), and
   * after a 401 whose challenge says `invalid_token` (or that has none it can read) gets a new token
   * and repeats the request once (not for a streamed body, which cannot be replayed).
   */
  readonly fetch: FetchLike;
  /** The current token: the held one while more than `refreshAheadSeconds` remain, else a new one (one request however many callers wait). */
  getToken(): Promise<BrowserToken>;
  /** `Authorization` and `DPoP` headers for one request made some other way (a library that takes headers). */
  headersFor(method: string, url: string | URL): Promise<{ authorization: string; dpop: string }>;
  /** The RFC 7638 thumbprint of this source's key: the `cnf.jkt` of its tokens. */
  thumbprint(): Promise<string>;
  /** Forgets the held token; the next call asks the backend again. */
  invalidate(): void;
}

interface HeldToken extends BrowserToken {
  /** From this moment on, getToken() asks for a new token. */
  readonly refreshAt: number;
}

/**
 * A source of DPoP-bound browser tokens for a page (RFC 9449). It makes a non-extractable ES256
 * key with WebCrypto, asks the app's backend for a token (`POST backendUrl` with
 * `DPoP: <proof for POST tokenEndpoint>`, which the backend passes to Latchkey unchanged), keeps it
 * until shortly before it expires, and signs a proof for every request. A token copied out of the
 * page is useless without the key, and the key cannot be copied.
 *
 * Errors are `@latchkey/client`'s: `TokenRequestError` (the backend answered an error; its
 * `error`/`errorDescription` are passed on), `TokenNetworkError`, `TokenResponseError`.
 *
 * @example
 * import { createBrowserTokenSource } from '@latchkey/client/browser';
 *
 * const tokens = createBrowserTokenSource({
 *   backendUrl: '/browser-token',
 *   tokenEndpoint: 'https://latchkey.example.com/oauth/token',
 * });
 * const fonts = await (await tokens.fetch(`https://latchkey.example.com/api/v1/environments/${env}/fonts`)).json();
 */
export function createBrowserTokenSource(options: BrowserTokenSourceOptions): BrowserTokenSource {
  return new DpopTokenSource(options);
}

class DpopTokenSource implements BrowserTokenSource {
  readonly fetch: FetchLike;
  readonly #backendUrl: string;
  readonly #tokenEndpoint: string;
  readonly #scope: string | undefined;
  readonly #refreshAheadMs: number;
  readonly #headers: HeadersInit | undefined;
  readonly #timeoutMs: number;
  readonly #send: FetchLike;
  readonly #now: () => number;
  readonly #cache: RefreshingCache<HeldToken>;
  #key: Promise<DpopKey> | undefined;

  constructor(options: BrowserTokenSourceOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('createBrowserTokenSource needs an options object');
    if (typeof options.backendUrl !== 'string' || options.backendUrl.trim() === '') throw new TypeError('backendUrl must be a non-empty string');
    this.#backendUrl = options.backendUrl;
    if (!isHttpUrl(options.tokenEndpoint)) throw new TypeError("tokenEndpoint must be Latchkey's absolute http(s) token endpoint URL");
    this.#tokenEndpoint = options.tokenEndpoint;
    this.#scope = normaliseScope(options.scope);
    this.#refreshAheadMs = nonNegative(options.refreshAheadSeconds, 60, 'refreshAheadSeconds') * 1000;
    this.#timeoutMs = nonNegative(options.timeoutMs, 10_000, 'timeoutMs');
    this.#headers = options.headers;
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('fetch must be a function');
    // A wrapper, so window.fetch is never called with `this` set to the source ("Illegal invocation").
    const userFetch = options.fetch;
    this.#send = userFetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#cache = new RefreshingCache(() => this.#requestToken(), this.#now);
    this.fetch = (input, init) => this.#fetchWithToken(input, init);
  }

  async getToken(): Promise<BrowserToken> {
    return view(await this.#cache.get());
  }

  async headersFor(method: string, url: string | URL): Promise<{ authorization: string; dpop: string }> {
    const token = await this.getToken();
    return { authorization: `DPoP ${token.accessToken}`, dpop: await this.#proof(httpMethod(method), resolveUrl(url), token.accessToken) };
  }

  async thumbprint(): Promise<string> {
    return (await this.#dpopKey()).thumbprint;
  }

  invalidate(): void {
    this.#cache.invalidate();
  }

  async #fetchWithToken(input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    const url = resolveUrl(input instanceof Request ? input.url : input);
    const method = httpMethod(init?.method ?? (input instanceof Request ? input.method : undefined));
    // A Request's body can be read once: keep a copy for the retry before the first attempt uses it.
    const spare = input instanceof Request && input.body !== null && init?.body === undefined ? input.clone() : input;
    const replayable = !(init?.body instanceof ReadableStream);
    const baseHeaders = init?.headers ?? (input instanceof Request ? input.headers : undefined);

    const attempt = async (target: string | URL | Request, token: BrowserToken): Promise<Response> => {
      const headers = new Headers(baseHeaders);
      headers.set('authorization', `DPoP ${token.accessToken}`);
      headers.set('dpop', await this.#proof(method, url, token.accessToken));
      return this.#send(target, { ...init, headers });
    };

    const token = await this.getToken();
    const response = await attempt(input, token);
    if (response.status !== 401 || !replayable || !tokenRefused(response)) return response;
    // Release the connection before asking again.
    await response.body?.cancel().catch(() => undefined);
    // Only drop the token that was refused: callers that failed together share one refresh.
    if (this.#cache.current?.accessToken === token.accessToken) this.invalidate();
    return attempt(spare, await this.getToken());
  }

  async #proof(method: string, url: string, accessToken: string | undefined): Promise<string> {
    return createDpopProof(await this.#dpopKey(), { method, url, accessToken, issuedAt: Math.floor(this.#now() / 1000) });
  }

  /** One key for the source's life, made on first use. */
  #dpopKey(): Promise<DpopKey> {
    if (this.#key === undefined) {
      const made = generateDpopKey();
      // A failure (no WebCrypto here) is not remembered: the next call says so again.
      made.catch(() => {
        if (this.#key === made) this.#key = undefined;
      });
      this.#key = made;
    }
    return this.#key;
  }

  async #requestToken(): Promise<HeldToken> {
    // The proof is for Latchkey's token endpoint, not for the backend: the backend passes it on.
    const headers = new Headers(this.#headers);
    headers.set('dpop', await this.#proof('POST', this.#tokenEndpoint, undefined));
    headers.set('accept', 'application/json');
    let body: string | undefined;
    if (this.#scope !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify({ scope: this.#scope });
    }
    const startedAt = this.#now();
    let response: Response;
    try {
      response = await this.#send(this.#backendUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (cause) {
      throw new TokenNetworkError({ cause, attempts: 1 });
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new TokenRequestError({ status: response.status, ...readOAuthError(response.status, text) });
    const raw = readJsonObject(text);
    if (typeof raw === 'string') throw new TokenResponseError(`browser token endpoint answered HTTP ${response.status} ${raw}`);
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = raw;
    if (typeof accessToken !== 'string' || accessToken === '') throw new TokenResponseError('browser token response has no access_token');
    // An unbound token would be a bearer token in the page: exactly what this source exists to avoid.
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'dpop') {
      throw new TokenResponseError('browser token response token_type is not DPoP: the token is not bound to this page');
    }
    const lifetime = readExpiresIn(expiresIn);
    if (lifetime === undefined || lifetime === null) throw new TokenResponseError('browser token response expires_in is not a non-negative number');
    // Counted from when the request was sent, so the time the answer took is not counted as lifetime.
    const expiresAt = startedAt + lifetime * 1000;
    const refreshAt = expiresAt - Math.min(this.#refreshAheadMs, lifetime * 500);
    return { accessToken, tokenType: 'DPoP', expiresAt, refreshAt, scope: typeof scope === 'string' ? scope : undefined };
  }
}

function view(token: HeldToken): BrowserToken {
  return { accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: token.expiresAt, scope: token.scope };
}

/**
 * Whether a 401 says the token is no good (RFC 6750 §3.1 / RFC 9449 §7.1 `error="invalid_token"`),
 * or gives no challenge this page can read (a cross-origin API that does not expose
 * WWW-Authenticate). Other errors (`invalid_dpop_proof`, `use_dpop_nonce`, ...) a new token does not fix.
 */
function tokenRefused(response: Response): boolean {
  const challenge = response.headers.get('www-authenticate');
  return challenge === null || /\berror\s*=\s*"?invalid_token"?/i.test(challenge);
}

/** An absolute URL: relative ones against the page's address (there is none in Node). */
function resolveUrl(url: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    throw new TypeError('the request URL must be absolute (or relative to the page)');
  }
}
