/**
 * `@latchkey/client`: get OAuth 2.0 client-credentials tokens from Latchkey and use them. Cached
 * tokens, refresh-ahead, single-flight, retries with backoff. Zero runtime dependencies; Node 20
 * and browsers. A backend hands its pages read-only, key-bound browser tokens with
 * `browserTokenHandler` (the page's side is `@latchkey/client/browser`).
 *
 * @example
 * import { TokenClient, createAuthorizedFetch } from '@latchkey/client';
 *
 * const tokens = TokenClient.fromEnv(); // LATCHKEY_TOKEN_URL, LATCHKEY_CLIENT_ID, LATCHKEY_CLIENT_SECRET, ...
 * const api = createAuthorizedFetch(tokens);
 * const templates = await (await api(`${base}/api/v1/environments/${env}/templates`)).json();
 *
 * @packageDocumentation
 */
export { createAuthorizedFetch } from './authorized-fetch.ts';
export { browserTokenHandler } from './browser-token-handler.ts';
export type { BrowserTokenExchanger, BrowserTokenHandler, BrowserTokenHandlerOptions, BrowserTokenHandlerResult } from './browser-token-handler.ts';
export type { TokenSource } from './authorized-fetch.ts';
export { TokenNetworkError, TokenRequestError, TokenResponseError } from './errors.ts';
export { basicAuthorization, formUrlEncode } from './form-encode.ts';
export { backoffDelay, parseRetryAfter } from './retry.ts';
export { TokenClient } from './token-client.ts';
export type { BrowserTokenExchangeOptions, BrowserTokenResponse, ClientAuthMethod, FetchLike, TokenClientEnv, TokenClientOptions, TokenResponse } from './token-client.ts';
