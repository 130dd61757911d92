import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import type { Metrics } from '../support/metrics.ts';
import { RequestTooLarge } from '../oauth/errors.ts';
import type { createTokenEndpoint, TokenEndpointResponse } from '../oauth/token-endpoint.ts';

/** What the fast path uses: the token endpoint, its limits and proxy rule, metrics and a logger. */
export interface TokenFastPathDeps {
  config: Pick<Config, 'trustProxy' | 'tokenBodyLimitBytes'>;
  logger: Logger;
  metrics: Pick<Metrics, 'startTokenTimer' | 'observeTokenDuration'>;
  /** The token endpoint (oauth/token-endpoint.ts): synchronous when it answers an exact repeat from memory. */
  handleTokenRequest: ReturnType<typeof createTokenEndpoint>;
}

/** The three request headers the token endpoint reads, taken from the raw header list. */
interface TokenHeaders {
  authorization: string | undefined;
  contentType: string | undefined;
  contentLength: string | undefined;
}

/**
 * Picks Authorization, Content-Type and Content-Length out of `rawHeaders`. Building Node's
 * `request.headers` object (every header lower-cased and stored) costs more than the rest of a
 * cached-token answer. Returns undefined when one of them is repeated: such a request is unusual
 * enough to go through Fastify, which answers it as it answers everything else.
 */
function readTokenHeaders(raw: string[]): TokenHeaders | undefined {
  let authorization: string | undefined;
  let contentType: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only names of the right length are lower-cased and compared.
    if (name.length === 13) {
      if (name.toLowerCase() !== 'authorization') continue;
      if (authorization !== undefined) return undefined;
      authorization = raw[i + 1];
    } else if (name.length === 12) {
      if (name.toLowerCase() !== 'content-type') continue;
      if (contentType !== undefined) return undefined;
      contentType = raw[i + 1];
    } else if (name.length === 14) {
      if (name.toLowerCase() !== 'content-length') continue;
      if (contentLength !== undefined) return undefined;
      contentLength = raw[i + 1];
    }
  }
  return { authorization, contentType, contentLength };
}

/** The headers of a response as node:http's writeHead takes them, computed once per response object. */
function wireHeaders(answer: TokenEndpointResponse): string[] {
  const headers: string[] = ['content-length', String(Buffer.byteLength(answer.body))];
  for (const name in answer.headers) headers.push(name, answer.headers[name]!);
  return headers;
}

/** The state of one token request on the fast path: one object instead of a closure per callback. */
class TokenExchange {
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;
  private size = 0;
  private done = false;
  /** The body is over the limit: the rest is not read, and the 413 is on its way. */
  private refused = false;
  private readonly started: number;

  constructor(
    private readonly path: FastPath,
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    private readonly headers: TokenHeaders,
  ) {
    this.started = path.deps.metrics.startTokenTimer();
  }

  onData(chunk: Buffer): void {
    if (this.done || this.refused) return;
    this.size += chunk.length;
    if (this.size > this.path.limit) return this.refuseTooLarge();
    if (this.first === undefined) this.first = chunk;
    else (this.rest ??= []).push(chunk);
  }

  /** Answers 413 without reading the rest, through the endpoint so the refusal is audited. */
  refuseTooLarge(): void {
    this.refused = true;
    this.first = this.rest = undefined;
    const { authorization, contentType } = this.headers;
    const refusal = new RequestTooLarge(this.path.limit);
    this.settle(this.path.deps.handleTokenRequest({ query: undefined, authorization, body: { contentType, text: '' }, ip: this.path.clientAddress(this.request), refusal }));
  }

  onEnd(): void {
    if (this.done || this.refused) return;
    const text = this.first === undefined ? '' : this.rest === undefined ? this.first.toString('utf8') : Buffer.concat([this.first, ...this.rest]).toString('utf8');
    const { authorization, contentType } = this.headers;
    // The body is read by its content type inside the endpoint, only if this is not an exact repeat.
    this.settle(this.path.deps.handleTokenRequest({ query: undefined, authorization, body: { contentType, text }, ip: this.path.clientAddress(this.request) }));
  }

  private settle(answer: TokenEndpointResponse | Promise<TokenEndpointResponse>): void {
    // An exact repeat is answered synchronously; only the full path returns a promise.
    if (!(answer instanceof Promise)) return this.respond(answer);
    answer.then(
      (response) => this.respond(response),
      (error: unknown) => {
        this.path.deps.logger.error({ err: error }, 'token fast path failed');
        this.response.destroy();
      },
    );
  }

  respond(answer: TokenEndpointResponse): void {
    if (this.done) return;
    this.done = true;
    this.path.deps.metrics.observeTokenDuration(this.started);
    this.response.writeHead(answer.statusCode, (answer.wire ??= wireHeaders(answer)));
    this.response.end(answer.body);
    // An unread remainder (oversized body) must not be parsed as the next request.
    if (!this.request.complete) this.request.destroy();
  }
}

interface FastPath {
  deps: TokenFastPathDeps;
  limit: number;
  clientAddress(request: IncomingMessage): string;
}

function onData(this: IncomingMessage & { exchange: TokenExchange }, chunk: Buffer): void {
  this.exchange.onData(chunk);
}

function onEnd(this: IncomingMessage & { exchange: TokenExchange }): void {
  this.exchange.onEnd();
}

/**
 * `POST /oauth/token` straight on node:http, in front of Fastify (installed through Fastify's
 * serverFactory). The token endpoint is the one path whose speed is the product: answered from
 * memory, its cost was dominated by the framework's per-request machinery. This path does only what
 * that request needs — read a bounded body, pick the client address, call the same framework-free
 * endpoint the Fastify route calls — and hands every other request (and anything unusual, such as a
 * query string or a repeated header) to Fastify unchanged.
 */
export function createTokenFastPath(deps: TokenFastPathDeps): ((request: IncomingMessage, response: ServerResponse) => boolean) & { stop(): void } {
  // The same trust rule Fastify applies for request.ip (LATCHKEY_TRUSTED_PROXIES).
  const trust = deps.config.trustProxy === false ? null : proxyaddr.compile(deps.config.trustProxy);
  const path: FastPath = {
    deps,
    limit: deps.config.tokenBodyLimitBytes,
    clientAddress: (request) => (trust ? proxyaddr(request, trust) : (request.socket.remoteAddress ?? '')),
  };
  let closing = false;

  return Object.assign(
    (request: IncomingMessage, response: ServerResponse): boolean => {
      // Exactly the endpoint, no query string: anything else (credentials in the URL, other
      // methods) goes through Fastify, which answers it in full.
      if (closing || request.method !== 'POST' || request.url !== '/oauth/token') return false;
      const headers = readTokenHeaders(request.rawHeaders);
      if (headers === undefined) return false;
      const exchange = new TokenExchange(path, request, response, headers);
      if (Number(headers.contentLength ?? 0) > path.limit) {
        exchange.refuseTooLarge();
        return true;
      }
      // Listeners shared by all requests, with the exchange on the request: no closures per request.
      // No 'error' listener: an aborted request then ends quietly with its socket (Node emits the
      // error only to listeners), and there is nobody left to answer.
      (request as IncomingMessage & { exchange: TokenExchange }).exchange = exchange;
      request.on('data', onData);
      request.on('end', onEnd);
      return true;
    },
    {
      stop: () => {
        closing = true;
      },
    },
  );
}
