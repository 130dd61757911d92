/**
 * The token endpoint answered with an error (RFC 6749 §5.2): any 4xx, or a 5xx/429 that persisted
 * through every retry. Carries the server's `error` and `error_description`, never the credentials.
 *
 * @example
 * try { await client.getToken() } catch (error) {
 *   if (error instanceof TokenRequestError && error.error === 'invalid_scope') { ... }
 * }
 */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  readonly code = 'ERR_TOKEN_REQUEST';
  /** HTTP status of the last response. */
  readonly status: number;
  /** RFC 6749 §5.2 error code (e.g. `invalid_client`), or a stand-in when the body had none. */
  readonly error: string;
  /** The server's `error_description`, if any. */
  readonly errorDescription: string | undefined;
  /** Seconds the server asked us to wait (`Retry-After`), if it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { status: number; error: string; errorDescription?: string | undefined; retryAfterSeconds?: number | undefined }) {
    const detail = init.errorDescription === undefined ? '' : `: ${init.errorDescription}`;
    super(`token request failed with HTTP ${init.status} ${init.error}${detail}`);
    this.status = init.status;
    this.error = init.error;
    this.errorDescription = init.errorDescription;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/**
 * The token endpoint could not be reached (DNS, connection refused, reset, timeout) on any attempt.
 *
 * @example
 * if (error instanceof TokenNetworkError) console.error('Latchkey unreachable', error.cause);
 */
export class TokenNetworkError extends Error {
  override readonly name = 'TokenNetworkError';
  readonly code = 'ERR_TOKEN_NETWORK';

  constructor(options: { cause: unknown; attempts: number }) {
    super(`token endpoint unreachable after ${options.attempts} attempt${options.attempts === 1 ? '' : 's'}`, { cause: options.cause });
  }
}

/**
 * The token endpoint answered 2xx with something that is not an RFC 6749 §5.1 token response.
 *
 * @example
 * if (error instanceof TokenResponseError) console.error('not a token endpoint?', error.message);
 */
export class TokenResponseError extends Error {
  override readonly name = 'TokenResponseError';
  readonly code = 'ERR_TOKEN_RESPONSE';
}
