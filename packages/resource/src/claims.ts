/**
 * The verified claims of a Latchkey access token (RFC 9068 §2.2), frozen: a repeated token shares
 * one object through the verified-token cache.
 */
export interface AccessTokenClaims {
  /** Issuer: equals the verifier's `issuer`. */
  readonly iss: string;
  /** Subject: for client credentials, the client ID (RFC 9068 §2.2). */
  readonly sub: string;
  /** Audience: contains one of the verifier's audiences. */
  readonly aud: string | readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** Issued-at, seconds since the epoch. */
  readonly iat: number;
  /** Not-before, seconds since the epoch, when present. */
  readonly nbf?: number;
  /** Unique token identifier. */
  readonly jti: string;
  /** The client (integration) the token was issued to. */
  readonly client_id: string;
  /** Space-separated granted scopes. */
  readonly scope: string;
  /** Latchkey: the id of the environment the integration lives in. */
  readonly environment?: string;
  /** Any other claim the issuer added. */
  readonly [claim: string]: unknown;
}
