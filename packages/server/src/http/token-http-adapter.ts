import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import proxyaddr from 'proxy-addr';
import type { Metrics } from '../support/metrics.ts';
import type { MaybePromise } from '../support/maybe-promise.ts';
import { NO_STORE_JSON, oauthErrorResponse } from '../oauth/endpoint-support.ts';
import { InvalidRequest, MethodNotAllowed, OAuthError, RequestTooLarge, ServerError } from '../oauth/errors.ts';
import { isAuthorizationRepeated, repeatedAuthorization, type TokenRequestBody } from '../oauth/token-request.ts';
import type { IssuedToken, TokenEndpoint, TokenEndpointResult } from '../oauth/token-endpoint.ts';

/** What the token endpoint's HTTP adapter is built from, and nothing more. */
export interface TokenHttpAdapterDeps {
  /** The protocol core (oauth/token-endpoint.ts): protocol values in, protocol values out. */
  endpoint: TokenEndpoint;
  metrics: Pick<Metrics, 'startTokenTimer' | 'observeTokenDuration'>;
  logger: Logger;
  /** The largest body the token endpoint reads (LATCHKEY_TOKEN_BODY_LIMIT). */
  bodyLimitBytes: number;
  /** The proxies whose X-Forwarded-For is believed (LATCHKEY_TRUSTED_PROXIES); false trusts none. */
  trustProxy: string[] | false;
}

/** An answer as the HTTP fronts write it: the same status, headers and body whichever writes it. */
export interface TokenHttpAnswer {
  readonly statusCode: number;
  /** The headers as an object, for a framework that takes one (Fastify); content-length is left to it. */
  readonly headers: Readonly<Record<string, string>>;
  /** The same headers with content-length first, as node:http's writeHead takes a flat list. */
  readonly headerList: string[];
  readonly body: string;
}

/**
 * The request headers the token endpoint reads besides the body's: credentials, and the two that say a
 * browser is involved (RFC 6454 `Origin`, RFC 9449 `DPoP`). The fast path hands over the object it
 * read them into; only header reads, nothing parsed here.
 */
export interface TokenRequestHeaders {
  authorization: string | undefined;
  origin?: string | undefined;
  dpop?: string | undefined;
}

/** An error a framework raised before the endpoint ran, as Fastify's errors carry it. */
export interface FrameworkFailure {
  statusCode?: number | undefined;
  code?: string | undefined;
}

/** An empty body: what a request refused before its body was read is handed to the endpoint with. */
function unreadBody(contentType: string | undefined): TokenRequestBody {
  return { contentType, text: '' };
}

function answerOf(statusCode: number, headers: Readonly<Record<string, string>>, body: string): TokenHttpAnswer {
  const headerList: string[] = ['content-length', String(Buffer.byteLength(body))];
  for (const name in headers) headerList.push(name, headers[name]!);
  return { statusCode, headers, body, headerList };
}

/**
 * The OAuthError a failure an OAuth endpoint's framework raised is answered with (RFC 6749 §5.2): an
 * oversized body is 413, a content type no parser took is invalid_request, any other client error is
 * invalid_request naming Fastify's code, and anything else is a logged server_error. The token,
 * revocation and introspection endpoints all map framework failures with this one function.
 */
export function oauthErrorOfFailure(failure: FrameworkFailure, bodyLimitBytes: number, logger: Logger, endpoint: string): OAuthError {
  if (failure instanceof OAuthError) return failure;
  const { statusCode } = failure;
  if (statusCode === 413) return new RequestTooLarge(bodyLimitBytes);
  if (statusCode === 415) return new InvalidRequest('send the parameters as application/x-www-form-urlencoded or application/json');
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return new InvalidRequest(`malformed request (${failure.code ?? 'bad request'})`);
  logger.error({ err: failure }, `${endpoint} failed`);
  return new ServerError();
}

/**
 * The token endpoint's one HTTP adapter. The node:http fast path (token-fast-path.ts) and the
 * Fastify route (routes/token.ts) read a request in their own way and write the answer in their own
 * way; everything in between is here, once: the body limit and the 413, the 405, the client address
 * under the trusted-proxy rule, the metrics, the mapping of failures to OAuth errors, and the status,
 * headers (Cache-Control: no-store, Pragma: no-cache, WWW-Authenticate, Retry-After, Allow) and
 * body written for each protocol answer.
 *
 * The protocol core answers with values (an IssuedToken or an OAuthError). Writing a token response
 * is most of what is left of a cached-token request, so the answer written for an IssuedToken is
 * kept, keyed on that value's identity: an exact repeat gets the same IssuedToken back within a second
 * (oauth/token-endpoint.ts) and so the same answer, with no new strings or header list.
 */
export class TokenHttpAdapter {
  /** The largest body read, in bytes. */
  readonly bodyLimit: number;
  private readonly trust: ((address: string, hop: number) => boolean) | null;
  private readonly written = new WeakMap<IssuedToken, TokenHttpAnswer>();

  constructor(private readonly deps: TokenHttpAdapterDeps) {
    this.bodyLimit = deps.bodyLimitBytes;
    // The same rule Fastify applies for request.ip with the same setting (its trustProxy option).
    this.trust = deps.trustProxy === false ? null : proxyaddr.compile(deps.trustProxy);
  }

  /** The client's address: the socket's peer, or what a trusted proxy says it forwarded for. */
  clientAddress(request: IncomingMessage): string {
    return this.trust ? proxyaddr(request, this.trust) : (request.socket.remoteAddress ?? '');
  }

  /** Starts a token request's metrics; hand the result to answer() or refuse(). */
  startTimer(): number {
    return this.deps.metrics.startTokenTimer();
  }

  /** Whether a declared Content-Length is over the limit: the request is refused before its body is read. */
  isDeclaredTooLarge(contentLength: string | undefined): boolean {
    return Number(contentLength ?? 0) > this.bodyLimit;
  }

  /** The 413 for a body over the limit. */
  tooLarge(): OAuthError {
    return new RequestTooLarge(this.bodyLimit);
  }

  /** The 405 for any method but POST (RFC 6749 §3.2). */
  methodNotAllowed(): OAuthError {
    return new MethodNotAllowed();
  }

  /**
   * The refusal a request's header list earns before anything else is read: a repeated
   * Authorization header (first-wins would be a guess). The fast path hands such requests over
   * instead of reading them; everything else calls this.
   */
  headerRefusal(rawHeaders: readonly string[]): OAuthError | undefined {
    return isAuthorizationRepeated(rawHeaders) ? repeatedAuthorization() : undefined;
  }

  /**
   * Answers a request whose body has been read (or was refused: `refusal`, answered and audited by
   * the endpoint like any failure). Synchronous for an exact repeat answered from memory; never
   * rejects.
   */
  answer(
    request: IncomingMessage,
    started: number,
    query: Record<string, unknown> | undefined,
    headers: TokenRequestHeaders,
    body: TokenRequestBody,
    refusal?: OAuthError,
  ): MaybePromise<TokenHttpAnswer> {
    // An empty header is no header: a browser always sends a value.
    const origin = headers.origin === '' ? undefined : headers.origin;
    const dpop = headers.dpop === '' ? undefined : headers.dpop;
    const result = this.deps.endpoint({ query, authorization: headers.authorization, body, ip: this.clientAddress(request), refusal, origin, dpop });
    if (!(result instanceof Promise)) return this.finish(started, result);
    return result.then(
      (settled) => this.finish(started, settled),
      (error: unknown) => {
        // The endpoint answers every failure itself; getting here is a bug, logged and answered 500.
        this.deps.logger.error({ err: error }, '/oauth/token failed unexpectedly');
        return this.finish(started, new ServerError());
      },
    );
  }

  /** Answers a request refused before its body was read (405, 413, a framework failure). */
  refuse(request: IncomingMessage, started: number, query: Record<string, unknown> | undefined, headers: TokenRequestHeaders, contentType: string | undefined, refusal: OAuthError): MaybePromise<TokenHttpAnswer> {
    return this.answer(request, started, query, headers, unreadBody(contentType), refusal);
  }

  /** What is written for a protocol answer; the same object for the same IssuedToken. */
  write(result: TokenEndpointResult): TokenHttpAnswer {
    if (result instanceof OAuthError) {
      const { statusCode, headers, body } = oauthErrorResponse(result);
      return answerOf(statusCode, headers, body);
    }
    let written = this.written.get(result);
    if (written === undefined) {
      // RFC 6749 §5.1. Access tokens and scopes are base64url, dots and scope-token characters: nothing to escape.
      // A token exchange adds issued_token_type (RFC 8693 §2.2.1), and a DPoP-bound token is token_type DPoP (RFC 9449 §5).
      const body =
        result.issuedTokenType === undefined
          ? `{"access_token":"${result.accessToken}","token_type":"Bearer","expires_in":${result.expiresIn},"scope":"${result.scope}"}`
          : `{"access_token":"${result.accessToken}","issued_token_type":"${result.issuedTokenType}","token_type":"${result.tokenType ?? 'Bearer'}","expires_in":${result.expiresIn},"scope":"${result.scope}"}`;
      written = answerOf(200, NO_STORE_JSON, body);
      this.written.set(result, written);
    }
    return written;
  }

  private finish(started: number, result: TokenEndpointResult): TokenHttpAnswer {
    this.deps.metrics.observeTokenDuration(started);
    return this.write(result);
  }
}
