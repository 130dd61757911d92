/** Stable codes an {@link AccessTokenError} can carry. */
export type AccessTokenErrorCode =
  | 'ERR_TOKEN_MISSING'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_IN_QUERY'
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_JWKS_UNAVAILABLE'
  | 'ERR_REVOCATION_UNAVAILABLE'
  | 'ERR_DPOP_PROOF_INVALID'
  | 'ERR_TOKEN_DPOP_BOUND'
  | 'ERR_TOKEN_NOT_DPOP_BOUND'
  | 'ERR_DPOP_KEY_MISMATCH'
  | 'ERR_WRITE_TOKEN_IN_BROWSER';

/**
 * The error code sent to the client (RFC 6750 §3.1, RFC 9449 §7.1 invalid_dpop_proof, and Latchkey's
 * write_token_in_browser), or none when no credentials were sent.
 */
export type BearerErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'invalid_dpop_proof'
  | 'write_token_in_browser';

/** The HTTP authentication scheme a challenge is for: RFC 6750 Bearer or RFC 9449 DPoP. */
export type AuthScheme = 'Bearer' | 'DPoP';

interface CodeSpec {
  readonly statusCode: 400 | 401 | 403 | 503;
  readonly error: BearerErrorCode | undefined;
  readonly description: string;
  /** False when the refusal is not about authentication: no `WWW-Authenticate`. */
  readonly challenge?: false;
}

// One table decides what each failure looks like on the wire (RFC 6750 §3, §3.1), so the
// framework adapters never have to.
const SPECS: Readonly<Record<AccessTokenErrorCode, CodeSpec>> = {
  // RFC 6750 §3.1: a request without credentials gets a challenge but no error code.
  ERR_TOKEN_MISSING: { statusCode: 401, error: undefined, description: 'this API requires a bearer access token' },
  // RFC 6750 §3.1 invalid_request (400): "otherwise malformed".
  ERR_TOKEN_MALFORMED: {
    statusCode: 400,
    error: 'invalid_request',
    description: 'the Authorization header must be Bearer followed by exactly one token',
  },
  // RFC 6750 §3.1 invalid_request (400). We refuse the §2.3 URI query method outright: a token in a
  // URL ends up in logs, browser history and Referer headers (RFC 9700 §4.3.2). 400 rather than 401
  // because the request is malformed for this API, and retrying with a fresh token would not help.
  ERR_TOKEN_IN_QUERY: {
    statusCode: 400,
    error: 'invalid_request',
    description: 'access tokens are not accepted in the query string, send an Authorization: Bearer header',
  },
  ERR_TOKEN_INVALID: { statusCode: 401, error: 'invalid_token', description: 'the access token is invalid' },
  ERR_TOKEN_EXPIRED: { statusCode: 401, error: 'invalid_token', description: 'the access token has expired' },
  // RFC 6750 §3.1 invalid_token covers "revoked" by name.
  ERR_TOKEN_REVOKED: { statusCode: 401, error: 'invalid_token', description: 'the token has been revoked' },
  ERR_INSUFFICIENT_SCOPE: {
    statusCode: 403,
    error: 'insufficient_scope',
    description: 'the access token does not carry the scope this request needs',
  },
  // Not the client's fault: 503 so that clients do not throw their token away and hammer the
  // authorization server for a new one.
  ERR_JWKS_UNAVAILABLE: {
    statusCode: 503,
    error: 'temporarily_unavailable',
    description: 'the token signing keys could not be loaded, try again later',
  },
  // Only with failClosed: the revocation list is not known to be current. 503 for the same reason.
  ERR_REVOCATION_UNAVAILABLE: {
    statusCode: 503,
    error: 'temporarily_unavailable',
    description: 'the token revocation list is not up to date, try again later',
  },
  // RFC 9449 §7.1: a missing or invalid proof is invalid_dpop_proof; the description says what is wrong.
  ERR_DPOP_PROOF_INVALID: { statusCode: 401, error: 'invalid_dpop_proof', description: 'the DPoP proof is invalid' },
  // RFC 9449 §7.2: a DPoP-bound token must not be accepted as a plain bearer token, or a copied token
  // would work without the key.
  ERR_TOKEN_DPOP_BOUND: {
    statusCode: 401,
    error: 'invalid_token',
    description: 'the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof signed by its key',
  },
  ERR_TOKEN_NOT_DPOP_BOUND: {
    statusCode: 401,
    error: 'invalid_token',
    description: 'the access token is not DPoP-bound: send it as Authorization: Bearer',
  },
  ERR_DPOP_KEY_MISMATCH: {
    statusCode: 401,
    error: 'invalid_token',
    description: 'the DPoP proof is signed by another key than the one the access token is bound to (cnf.jkt)',
  },
  // The browser rule: not an authentication failure (a new token of the same kind would not help),
  // so no challenge; the description says what to do instead.
  ERR_WRITE_TOKEN_IN_BROWSER: {
    statusCode: 403,
    error: 'write_token_in_browser',
    description: 'tokens with write permissions must never reach the front-end',
    challenge: false,
  },
};

// error_description and scope travel inside a quoted-string (RFC 6750 §3): printable ASCII only,
// and never `"` or `\` (RFC 6749 §5.2).
const SAFE_PARAM = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/** Options for {@link AccessTokenError}. */
export interface AccessTokenErrorOptions {
  /** Text for `error_description`; printable ASCII without `"` or `\`. Defaults to a fixed text per code. */
  readonly description?: string | undefined;
  /** The protection space named in the `WWW-Authenticate` challenge. */
  readonly realm?: string | undefined;
  /** For ERR_INSUFFICIENT_SCOPE: the space-separated scopes the request needs. */
  readonly scope?: string | undefined;
  /** The underlying error, for logs only: it is never sent to the client. */
  readonly cause?: unknown;
  /** The challenge's scheme. Default Bearer. */
  readonly scheme?: AuthScheme | undefined;
  /** For a DPoP challenge: the proof algorithms accepted (`algs`, RFC 9449 §7.1). */
  readonly algs?: readonly string[] | undefined;
}

/**
 * A request was refused: carries a stable `code`, the HTTP `statusCode`, the RFC 6750 response
 * `body` and a ready `WWW-Authenticate` value, so any framework can answer with three lines.
 *
 * @example
 * try { await verifier.verify(token) } catch (error) {
 *   if (error instanceof AccessTokenError) res.writeHead(error.statusCode, error.headers).end(JSON.stringify(error.body));
 * }
 */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  readonly code: AccessTokenErrorCode;
  readonly statusCode: 400 | 401 | 403 | 503;
  /** RFC 6750 §3.1 error code; `undefined` when the request carried no credentials at all. */
  readonly error: BearerErrorCode | undefined;
  readonly errorDescription: string;
  readonly realm: string | undefined;
  readonly scope: string | undefined;
  /** The scheme of the challenge: Bearer, or DPoP for a request or token that uses DPoP. */
  readonly scheme: AuthScheme;
  /** The DPoP `algs` of the challenge, when the scheme is DPoP. */
  readonly algs: readonly string[] | undefined;
  /**
   * The `WWW-Authenticate` header value (RFC 6750 §3, RFC 9449 §7.1); `undefined` for the 503s
   * (nothing is wrong with the token) and the browser rule (not an authentication failure).
   */
  readonly wwwAuthenticate: string | undefined;
  /** Response headers to send, fastify-style (`error.headers`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON response body: `{ error, error_description }` (and `scope` for insufficient_scope). */
  readonly body: Readonly<{ error?: BearerErrorCode; error_description: string; scope?: string }>;

  constructor(code: AccessTokenErrorCode, options: AccessTokenErrorOptions = {}) {
    const spec = SPECS[code];
    if (spec === undefined) throw new TypeError(`unknown access token error code: ${String(code)}`);
    const description = options.description ?? spec.description;
    if (!SAFE_PARAM.test(description)) throw new TypeError('error description must be printable ASCII without " or \\');
    if (options.scope !== undefined && !SAFE_PARAM.test(options.scope)) throw new TypeError('scope must be printable ASCII without " or \\');
    if (options.realm !== undefined && !SAFE_PARAM.test(options.realm)) throw new TypeError('realm must be printable ASCII without " or \\');
    if (options.algs !== undefined && !options.algs.every((alg) => /^[A-Za-z0-9+._-]+$/.test(alg))) throw new TypeError('algs must be algorithm names');
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = spec.statusCode;
    this.error = spec.error;
    this.errorDescription = description;
    this.realm = options.realm;
    this.scope = options.scope;
    this.scheme = options.scheme ?? 'Bearer';
    this.algs = this.scheme === 'DPoP' ? options.algs : undefined;
    this.wwwAuthenticate = spec.statusCode === 503 || spec.challenge === false ? undefined : formatChallenge(this);
    this.headers = this.wwwAuthenticate === undefined ? {} : { 'www-authenticate': this.wwwAuthenticate };
    // Key order on the wire: error first, as in the RFC 6749 §5.2 examples.
    this.body = {
      ...(spec.error === undefined ? {} : { error: spec.error }),
      error_description: description,
      ...(options.scope === undefined ? {} : { scope: options.scope }),
    };
  }

  /** The same refusal, challenged with the DPoP scheme (for a request that used it, RFC 9449 §7.1). */
  asDpop(algs: readonly string[] | undefined): AccessTokenError {
    return new AccessTokenError(this.code, {
      description: this.errorDescription,
      realm: this.realm,
      scope: this.scope,
      cause: this.cause,
      scheme: 'DPoP',
      algs,
    });
  }
}

/**
 * Builds `Bearer realm="…", error="…", error_description="…", scope="…"` (RFC 6750 §3), or
 * `DPoP realm="…", algs="…", error="…", …` (RFC 9449 §7.1).
 */
function formatChallenge(error: AccessTokenError): string {
  const params: string[] = [];
  if (error.realm !== undefined) params.push(`realm="${error.realm}"`);
  if (error.algs !== undefined) params.push(`algs="${error.algs.join(' ')}"`);
  // RFC 6750 §3.1: with no authentication information, no error code (nor description).
  if (error.error !== undefined) {
    params.push(`error="${error.error}"`, `error_description="${error.errorDescription}"`);
    if (error.scope !== undefined) params.push(`scope="${error.scope}"`);
  }
  return params.length === 0 ? error.scheme : `${error.scheme} ${params.join(', ')}`;
}
