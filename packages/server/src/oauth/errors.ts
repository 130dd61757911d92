// Token endpoint errors, one class per RFC 6749 §5.2 code (plus RFC 8707's invalid_target).
// Each carries the status it is answered with; http/token-http-adapter.ts writes them all the same way.

/** Keeps an error_description inside RFC 6749 §5.2's character set: printable ASCII except `"` and `\`. */
export function sanitizeDescription(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?').slice(0, 400);
}

/** Quotes client-supplied text for an error_description: shortened and stripped to safe characters. */
export function quoteForDescription(value: string, max = 60): string {
  const short = value.length > max ? `${value.slice(0, max)}...` : value;
  return `'${sanitizeDescription(short).replace(/'/g, '?')}'`;
}

/** An error answered to the client in RFC 6749 §5.2 form. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly description: string;
  constructor(
    readonly error: string,
    readonly statusCode: number,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.description = sanitizeDescription(description);
  }

  /** The JSON body: `{ error, error_description }`. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** invalid_request (400): a parameter is missing, repeated, malformed or in the wrong place. */
export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', 400, description);
  }
}

/**
 * invalid_client (401): client authentication failed. One answer for every cause it must not reveal.
 * RFC 6749 §5.2 asks for the Basic challenge when Basic was used; RFC 9110 §15.5.2 requires a
 * challenge on every 401, so client_secret_post failures carry it too.
 */
export class InvalidClient extends OAuthError {
  constructor(description: string) {
    super('invalid_client', 401, description, { 'www-authenticate': 'Basic realm="latchkey", charset="UTF-8"' });
  }
}

/** unsupported_grant_type (400). */
export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', 400, description);
  }
}

/**
 * unauthorized_client (400, RFC 6749 §5.2): the client is authenticated but may not use this grant
 * in this way (a token exchange without the browser-token permission, client_credentials from a browser).
 */
export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', 400, description);
  }
}

/** invalid_grant (400, RFC 6749 §5.2; RFC 8693 §2.2.2): the subject token of a token exchange is not acceptable. */
export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', 400, description);
  }
}

/** invalid_dpop_proof (400, RFC 9449 §5): the DPoP header of a token request is not a valid proof. */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string) {
    super('invalid_dpop_proof', 400, description);
  }
}

/** invalid_scope (400): a requested scope is unknown or not granted. */
export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', 400, description);
  }
}

/** invalid_target (400, RFC 8707 §2): the audience / resource names no API this server knows. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', 400, description);
  }
}

/** access_denied (403): the API exists but this integration has no permission for it. */
export class AccessDenied extends OAuthError {
  constructor(description: string) {
    super('access_denied', 403, description);
  }
}

/** 405: the OAuth endpoints take POST only (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1); `Allow` says so (RFC 9110 §15.5.6). */
export class MethodNotAllowed extends OAuthError {
  constructor(endpoint = 'the token endpoint') {
    super('invalid_request', 405, `${endpoint} accepts POST only`, { allow: 'POST' });
  }
}

/** 413: the body is larger than the token endpoint accepts. */
export class RequestTooLarge extends OAuthError {
  constructor(limit: number) {
    super('invalid_request', 413, `request body is larger than ${limit} bytes`);
  }
}

/** 429: too many failed client authentications; `Retry-After` says when to try again. */
export class TooManyRequests extends OAuthError {
  constructor(retryAfterSeconds: number, what: string) {
    super('temporarily_unavailable', 429, `too many failed client authentications ${what}; retry after ${retryAfterSeconds} seconds`, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** 503: a dependency (the database) is unavailable; the client may retry. */
export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string) {
    super('temporarily_unavailable', 503, description, { 'retry-after': '1' });
  }
}

/** 500: anything unexpected. Details go to the log, never to the client. */
export class ServerError extends OAuthError {
  constructor() {
    super('server_error', 500, 'the server could not handle the request; it has been logged');
  }
}
