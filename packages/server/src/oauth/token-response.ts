import type { OAuthError } from './errors.ts';

/**
 * The values of a successful token response (RFC 6749 §5.1): what the protocol decided, not how it
 * is written. `token_type` is `Bearer` unless `tokenType` says otherwise. The HTTP adapter (http/token-http-adapter.ts) writes
 * it; an exact repeat within one second gets the very same object back, so the adapter can keep the
 * bytes it wrote for it.
 */
export interface IssuedToken {
  readonly accessToken: string;
  /** Seconds until the token expires, as of the second this value was made for. */
  readonly expiresIn: number;
  /** The granted scopes, space-separated (RFC 6749 §3.3). */
  readonly scope: string;
  /** `token_type`: absent means Bearer; `DPoP` for a browser token bound to a key (RFC 9449 §5). */
  readonly tokenType?: 'Bearer' | 'DPoP';
  /** `issued_token_type` of a token exchange (RFC 8693 §2.2.1); absent for every other grant. */
  readonly issuedTokenType?: string;
}

/** What the token endpoint answers: a token, or the error of RFC 6749 §5.2 (status and headers included). */
export type TokenEndpointResult = IssuedToken | OAuthError;
