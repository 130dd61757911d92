import { AccessTokenError } from './errors.ts';
import type { AuthScheme } from './errors.ts';

// credentials = ("Bearer" / "DPoP") 1*SP token68 (RFC 6750 §2.1, RFC 9449 §7.1); schemes are
// case-insensitive (RFC 9110 §11.1). One linear regular expression: the plain-bearer hot path
// costs what extractBearerToken costs.
const CREDENTIALS = /^(?:([Bb][Ee][Aa][Rr][Ee][Rr])|[Dd][Pp][Oo][Pp]) +([A-Za-z0-9\-._~+/]+=*) *$/;

/** An access token and the scheme it came with. */
export interface PresentedToken {
  readonly scheme: AuthScheme;
  readonly token: string;
}

/**
 * Returns the access token of an `Authorization` header sent with the Bearer or the DPoP scheme.
 *
 * Throws {@link AccessTokenError}: ERR_TOKEN_MISSING (401, no error code) when there is no header
 * or it uses another scheme; ERR_TOKEN_MALFORMED (400 invalid_request) when it says Bearer or DPoP
 * but does not carry exactly one token.
 *
 * @example
 * const { scheme, token } = extractAuthorization(request.headers.authorization, 'environment-api');
 */
export function extractAuthorization(authorization: string | readonly string[] | null | undefined, realm?: string): PresentedToken {
  const value = singleHeader(authorization, realm);
  if (value === undefined || value.trim() === '') throw new AccessTokenError('ERR_TOKEN_MISSING', { realm });
  const match = CREDENTIALS.exec(value);
  if (match !== null) return { scheme: match[1] === undefined ? 'DPoP' : 'Bearer', token: match[2] as string };
  const scheme = (value.trimStart().split(/[ \t]/, 1)[0] ?? '').toLowerCase();
  if (scheme === 'bearer') throw new AccessTokenError('ERR_TOKEN_MALFORMED', { realm });
  if (scheme === 'dpop') {
    throw new AccessTokenError('ERR_TOKEN_MALFORMED', { realm, description: 'the Authorization header must be DPoP followed by exactly one token' });
  }
  throw new AccessTokenError('ERR_TOKEN_MISSING', { realm });
}

/**
 * The one value of a header that may appear once (Authorization, DPoP): undefined when absent;
 * a list of several is malformed (Node joins or drops repeats, but a framework may hand us a list).
 */
export function singleHeader(header: string | readonly string[] | null | undefined, realm?: string): string | undefined {
  if (typeof header === 'string') return header;
  if (header === null || header === undefined) return undefined;
  if (!Array.isArray(header)) throw new TypeError('a header must be a string, an array of strings, or undefined');
  if (header.length > 1) throw new AccessTokenError('ERR_TOKEN_MALFORMED', { realm, description: 'the request carries a credentials header more than once' });
  return header[0] as string | undefined;
}
