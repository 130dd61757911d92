/**
 * `@latchkey/client/browser`: DPoP-bound, read-only browser tokens for a page (RFC 9449), obtained
 * through the app's own backend (which uses `browserTokenHandler` from `@latchkey/client`). WebCrypto
 * only: no Node APIs, no dependencies.
 *
 * @example
 * import { createBrowserTokenSource } from '@latchkey/client/browser';
 *
 * const tokens = createBrowserTokenSource({ backendUrl: '/browser-token', tokenEndpoint: 'https://latchkey.example.com/oauth/token' });
 * const response = await tokens.fetch(`https://latchkey.example.com/api/v1/environments/${env}/fonts`);
 *
 * @packageDocumentation
 */
export { TokenNetworkError, TokenRequestError, TokenResponseError } from '../errors.ts';
export { createBrowserTokenSource } from './token-source.ts';
export type { BrowserToken, BrowserTokenSource, BrowserTokenSourceOptions } from './token-source.ts';
export type { FetchLike } from '../token-client.ts';
