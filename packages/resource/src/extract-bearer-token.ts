import { AccessTokenError } from './errors.ts';
import { singleHeader } from './extract-authorization.ts';

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. The scheme is case-insensitive (RFC 9110
// §11.1). Linear: the character classes do not overlap, so there is no backtracking blow-up.
const BEARER_CREDENTIALS = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *$/;

/**
 * Returns the one bearer token in an `Authorization` header value (RFC 6750 §2.1).
 *
 * Throws {@link AccessTokenError}: ERR_TOKEN_MISSING (401, no error code) when there is no header
 * or it uses another scheme such as Basic (RFC 6750 §3.1); ERR_TOKEN_MALFORMED (400
 * invalid_request) when it says Bearer but does not carry exactly one token.
 *
 * @example
 * const token = extractBearerToken(request.headers.authorization, 'environment-api');
 */
export function extractBearerToken(authorization: string | readonly string[] | null | undefined, realm?: string): string {
  const value = singleHeader(authorization, realm);
  if (value === undefined || value.trim() === '') throw new AccessTokenError('ERR_TOKEN_MISSING', { realm });
  const match = BEARER_CREDENTIALS.exec(value);
  if (match !== null) return match[1] as string;
  const scheme = value.trimStart().split(/[ \t]/, 1)[0] ?? '';
  if (scheme.toLowerCase() !== 'bearer') throw new AccessTokenError('ERR_TOKEN_MISSING', { realm });
  throw new AccessTokenError('ERR_TOKEN_MALFORMED', { realm });
}

/**
 * Throws ERR_TOKEN_IN_QUERY (400 invalid_request) when a request URL carries an `access_token`
 * query parameter: RFC 6750 §2.3 allows it, but this library refuses it (see RFC 9700 §4.3.2).
 *
 * @example
 * assertNoQueryToken(request.url, 'environment-api');
 */
export function assertNoQueryToken(url: string, realm?: string): void {
  const start = url.indexOf('?');
  if (start === -1) return;
  const end = url.indexOf('#', start);
  // URLSearchParams decodes names, so `access%5Ftoken` is caught as well.
  const query = new URLSearchParams(url.slice(start + 1, end === -1 ? undefined : end));
  if (query.has('access_token')) throw new AccessTokenError('ERR_TOKEN_IN_QUERY', { realm });
}
