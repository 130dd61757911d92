import { TokenNetworkError, TokenRequestError, TokenResponseError } from './errors.ts';
import type { BrowserTokenExchangeOptions, BrowserTokenResponse } from './token-client.ts';

/** What {@link browserTokenHandler} needs: a {@link TokenClient} has it. */
export interface BrowserTokenExchanger {
  exchangeForBrowserToken(options?: BrowserTokenExchangeOptions): Promise<BrowserTokenResponse>;
}

/** Options for {@link browserTokenHandler}. */
export interface BrowserTokenHandlerOptions {
  /**
   * The most the page may get (read scopes only); the page may ask for less. Default: the page's
   * request, or else the backend token's read scopes.
   */
  readonly scope?: string | readonly string[] | undefined;
  /**
   * Refuse a request without a `DPoP` proof (an unbound bearer token could be replayed from
   * anywhere). Default `true`.
   */
  readonly requireDpop?: boolean | undefined;
}

/** The answer to send the page: status, headers and a JSON body (RFC 6749 §5.1 or §5.2 shape). */
export interface BrowserTokenHandlerResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Answers one request from the page for a browser token: `dpop` is the request's `DPoP` header (as
 * the framework gives it), `requestedScope` the `scope` of its JSON body, if any.
 */
export type BrowserTokenHandler = (dpop: string | readonly string[] | null | undefined, requestedScope?: unknown) => Promise<BrowserTokenHandlerResult>;

const HEADERS = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });

/**
 * The app backend's side of browser tokens, framework-free: give it the page's `DPoP` header and
 * send back what it returns. It exchanges the backend's own token for a short-lived read-only
 * browser token bound to the page's key ({@link TokenClient.exchangeForBrowserToken}) and shapes
 * every outcome as JSON: 200 with the token; 400 for the page's own mistakes (no or malformed proof,
 * a proof Latchkey refused, a scope outside what is allowed); 503 when Latchkey is busy or down;
 * 502 when Latchkey refused the backend (its `error` and `error_description` say why, e.g.
 * `unauthorized_client` until the integration may mint browser tokens). Put it behind the app's
 * own login: whoever can call it gets a token.
 *
 * @example
 * import express from 'express';
 * import { TokenClient, browserTokenHandler } from '@latchkey/client';
 *
 * const issueBrowserToken = browserTokenHandler(TokenClient.fromEnv(), { scope: 'fonts:read media:read' });
 * app.post('/browser-token', requireLogin, express.json(), async (req, res) => {
 *   const { status, headers, body } = await issueBrowserToken(req.headers.dpop, req.body?.scope);
 *   res.status(status).set(headers).json(body);
 * });
 */
export function browserTokenHandler(tokenClient: BrowserTokenExchanger, options: BrowserTokenHandlerOptions = {}): BrowserTokenHandler {
  if (typeof tokenClient?.exchangeForBrowserToken !== 'function') {
    throw new TypeError('browserTokenHandler needs a TokenClient (or an object with exchangeForBrowserToken)');
  }
  const allowed = options.scope === undefined ? undefined : scopeList(options.scope);
  if (allowed === null || (allowed !== undefined && allowed.length === 0)) throw new TypeError('scope must be a non-empty space-separated string or list of strings');
  const requireDpop = options.requireDpop ?? true;

  return async (dpop, requestedScope) => {
    const proof = readProof(dpop);
    if (proof === 'malformed') return refusal(400, 'invalid_dpop_proof', 'the DPoP header must carry exactly one proof JWT');
    if (proof === undefined && requireDpop) return refusal(400, 'invalid_dpop_proof', 'a DPoP header with a proof for the token endpoint is required');

    let scope = allowed;
    if (requestedScope !== undefined && requestedScope !== null) {
      const asked = typeof requestedScope === 'string' ? scopeList(requestedScope) : null;
      if (asked === null || asked.length === 0) return refusal(400, 'invalid_request', 'scope must be a space-separated string of scopes');
      const outside = allowed === undefined ? [] : asked.filter((item) => !allowed.includes(item));
      if (outside.length > 0) return refusal(400, 'invalid_scope', `scope not offered to the page: ${outside.join(' ')}`);
      scope = asked;
    }

    try {
      const token = await tokenClient.exchangeForBrowserToken({ scope, dpopProof: proof });
      const body: Record<string, unknown> = { access_token: token.accessToken, token_type: token.tokenType };
      if (token.expiresIn !== undefined) body.expires_in = token.expiresIn;
      if (token.scope !== undefined) body.scope = token.scope;
      return { status: 200, headers: HEADERS, body };
    } catch (error) {
      return failure(error, requestedScope !== undefined && requestedScope !== null);
    }
  };
}

/** The one proof in the header, `undefined` when there is none, `'malformed'` for anything else (RFC 9449 §4.3: one header, one JWT). */
function readProof(dpop: string | readonly string[] | null | undefined): string | undefined | 'malformed' {
  if (dpop === undefined || dpop === null) return undefined;
  if (typeof dpop !== 'string') return dpop.length === 1 ? readProof(dpop[0]) : 'malformed';
  const value = dpop.trim();
  if (value === '') return undefined;
  // Fetch's Headers joins repeated headers with ", ": a comma means more than one proof.
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value) ? value : 'malformed';
}

function scopeList(scope: string | readonly string[]): string[] | null {
  const list: unknown[] = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? scope : [];
  if (!list.every((item) => typeof item === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]*$/.test(item))) return null;
  return (list as string[]).filter((item) => item !== '');
}

function refusal(status: number, error: string, description: string, headers: Record<string, string> = {}): BrowserTokenHandlerResult {
  return { status, headers: { ...HEADERS, ...headers }, body: { error, error_description: description } };
}

/** Latchkey's refusals, in terms of whose fault they are; anything else is not ours to shape and is rethrown. */
function failure(error: unknown, pageChoseScope: boolean): BrowserTokenHandlerResult {
  if (error instanceof TokenRequestError) {
    const description = error.errorDescription ?? `Latchkey answered HTTP ${error.status} ${error.error}`;
    if (error.error === 'invalid_dpop_proof' || (error.error === 'invalid_scope' && pageChoseScope)) return refusal(400, error.error, description);
    if (error.status === 429 || error.status >= 500) {
      const retryAfter: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
      return refusal(503, 'temporarily_unavailable', 'Latchkey is busy or unavailable; try again later', retryAfter);
    }
    return refusal(502, error.error, description);
  }
  if (error instanceof TokenNetworkError) return refusal(503, 'temporarily_unavailable', 'Latchkey could not be reached; try again later');
  if (error instanceof TokenResponseError) return refusal(502, 'server_error', 'Latchkey answered with something that is not a token response');
  throw error;
}
