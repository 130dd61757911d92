import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { Runtime } from '../runtime.ts';
import { OAuthError, RequestTooLarge } from '../oauth/errors.ts';
import { oauthErrorResponse, type TokenEndpointResponse } from '../oauth/token-endpoint.ts';
import type { TokenRequestBody } from '../oauth/token-request.ts';
import { readTokenBody } from './token-body.ts';

/** The state of one token request on the fast path: one object instead of a closure per callback. */
class TokenExchange {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  readonly started = process.hrtime.bigint();

  constructor(
    private readonly path: FastPath,
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
  ) {}

  onData(chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    if (this.size > this.path.limit) return this.fail(new RequestTooLarge(this.path.limit));
    this.chunks.push(chunk);
  }

  onEnd(): void {
    if (this.done) return;
    const { request } = this;
    let body: TokenRequestBody;
    let text: string;
    try {
      text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
      body = this.size === 0 && request.headers['content-type'] === undefined ? { kind: 'none' } : readTokenBody(request.headers['content-type'], text);
    } catch (error) {
      return this.fail(error as OAuthError);
    }
    const answer = this.path.runtime.handleTokenRequest({ query: undefined, authorization: request.headers.authorization, body, ip: this.path.clientAddress(request), rawBody: text });
    // An exact repeat is answered synchronously; only the full path returns a promise.
    if (!(answer instanceof Promise)) return this.respond(answer);
    answer.then(
      (response) => this.respond(response),
      (error: unknown) => {
        this.path.runtime.logger.error({ err: error }, 'token fast path failed');
        this.response.destroy();
      },
    );
  }

  fail(error: OAuthError): void {
    this.respond(oauthErrorResponse(error));
  }

  respond(answer: TokenEndpointResponse): void {
    if (this.done) return;
    this.done = true;
    this.path.runtime.metrics.observeTokenDuration(Number(process.hrtime.bigint() - this.started) / 1e9);
    const headers: string[] = ['content-length', String(Buffer.byteLength(answer.body))];
    for (const name in answer.headers) headers.push(name, answer.headers[name]!);
    this.response.writeHead(answer.statusCode, headers);
    this.response.end(answer.body);
    // An unread remainder (oversized body) must not be parsed as the next request.
    if (!this.request.complete) this.request.destroy();
  }
}

interface FastPath {
  runtime: Runtime;
  limit: number;
  clientAddress(request: IncomingMessage): string;
}

/**
 * `POST /oauth/token` straight on node:http, in front of Fastify (installed through Fastify's
 * serverFactory). The token endpoint is the one path whose speed is the product: answered from
 * memory, its cost was dominated by the framework's per-request machinery. This path does only what
 * that request needs — read a bounded body, pick the client address, call the same framework-free
 * endpoint the Fastify route calls — and hands every other request (and anything unusual, such as a
 * query string) to Fastify unchanged.
 */
export function createTokenFastPath(runtime: Runtime): ((request: IncomingMessage, response: ServerResponse) => boolean) & { stop(): void } {
  // The same trust rule Fastify applies for request.ip (LATCHKEY_TRUSTED_PROXIES).
  const trust = runtime.config.trustProxy === false ? null : proxyaddr.compile(runtime.config.trustProxy);
  const path: FastPath = {
    runtime,
    limit: runtime.config.tokenBodyLimitBytes,
    clientAddress: (request) => (trust ? proxyaddr(request, trust) : (request.socket.remoteAddress ?? '')),
  };
  let closing = false;

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const exchange = new TokenExchange(path, request, response);
    if (Number(request.headers['content-length'] ?? 0) > path.limit) return exchange.fail(new RequestTooLarge(path.limit));
    request.on('data', (chunk: Buffer) => exchange.onData(chunk));
    request.on('end', () => exchange.onEnd());
    request.on('error', () => response.destroy());
  };

  return Object.assign(
    (request: IncomingMessage, response: ServerResponse): boolean => {
      // Exactly the endpoint, no query string: anything else (credentials in the URL, other
      // methods) goes through Fastify, which answers it in full.
      if (closing || request.method !== 'POST' || request.url !== '/oauth/token') return false;
      handle(request, response);
      return true;
    },
    {
      stop: () => {
        closing = true;
      },
    },
  );
}
