import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MaybePromise } from '../support/maybe-promise.ts';
import type { TokenHttpAdapter, TokenHttpAnswer, TokenRequestHeaders } from './token-http-adapter.ts';

/** The request headers the token endpoint reads, taken from the raw header list. */
interface TokenHeaders extends TokenRequestHeaders {
  contentType: string | undefined;
  contentLength: string | undefined;
}

/**
 * Picks Authorization, Content-Type, Content-Length, Origin and DPoP out of `rawHeaders`. Building
 * Node's `request.headers` object (every header lower-cased and stored) costs more than the rest of a
 * cached-token answer. Returns undefined when one of them is repeated: such a request is unusual
 * enough to go through Fastify, which answers it as it answers everything else.
 */
function readTokenHeaders(raw: string[]): TokenHeaders | undefined {
  let authorization: string | undefined;
  let contentType: string | undefined;
  let contentLength: string | undefined;
  let origin: string | undefined;
  let dpop: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only names of the right length are lower-cased and compared.
    if (name.length === 6) {
      if (name.toLowerCase() !== 'origin') continue;
      if (origin !== undefined) return undefined;
      origin = raw[i + 1];
    } else if (name.length === 4) {
      if (name.toLowerCase() !== 'dpop') continue;
      if (dpop !== undefined) return undefined;
      dpop = raw[i + 1];
    } else if (name.length === 13) {
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
  return { authorization, contentType, contentLength, origin, dpop };
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
    private readonly adapter: TokenHttpAdapter,
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    private readonly headers: TokenHeaders,
  ) {
    this.started = adapter.startTimer();
  }

  onData(chunk: Buffer): void {
    if (this.done || this.refused) return;
    this.size += chunk.length;
    if (this.size > this.adapter.bodyLimit) return this.refuseTooLarge();
    if (this.first === undefined) this.first = chunk;
    else (this.rest ??= []).push(chunk);
  }

  /** Answers 413 without reading the rest, through the adapter so the refusal is audited. */
  refuseTooLarge(): void {
    this.refused = true;
    this.first = this.rest = undefined;
    this.settle(this.adapter.refuse(this.request, this.started, undefined, this.headers, this.headers.contentType, this.adapter.tooLarge()));
  }

  onEnd(): void {
    if (this.done || this.refused) return;
    const text = this.first === undefined ? '' : this.rest === undefined ? this.first.toString('utf8') : Buffer.concat([this.first, ...this.rest]).toString('utf8');
    // The body is read by its content type inside the endpoint, only if this is not an exact repeat.
    this.settle(this.adapter.answer(this.request, this.started, undefined, this.headers, { contentType: this.headers.contentType, text }));
  }

  private settle(answer: MaybePromise<TokenHttpAnswer>): void {
    // An exact repeat is answered synchronously; only the full path returns a promise (which never rejects).
    if (!(answer instanceof Promise)) return this.respond(answer);
    answer.then((settled) => this.respond(settled));
  }

  respond(answer: TokenHttpAnswer): void {
    if (this.done) return;
    this.done = true;
    this.response.writeHead(answer.statusCode, answer.headerList);
    this.response.end(answer.body);
    // An unread remainder (oversized body) must not be parsed as the next request.
    if (!this.request.complete) this.request.destroy();
  }
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
 * memory, its cost was dominated by the framework's per-request machinery. This path only reads
 * the request (three headers and a bounded body) and writes the answer; the token HTTP adapter
 * (token-http-adapter.ts) that the Fastify route calls too does everything in between. Every other
 * request (and anything unusual, such as a query string or a repeated header) goes to Fastify unchanged.
 */
export function createTokenFastPath(adapter: TokenHttpAdapter): ((request: IncomingMessage, response: ServerResponse) => boolean) & { stop(): void } {
  let closing = false;

  return Object.assign(
    (request: IncomingMessage, response: ServerResponse): boolean => {
      // Exactly the endpoint, no query string: anything else (credentials in the URL, other
      // methods) goes through Fastify, which answers it in full.
      if (closing || request.method !== 'POST' || request.url !== '/oauth/token') return false;
      const headers = readTokenHeaders(request.rawHeaders);
      if (headers === undefined) return false;
      const exchange = new TokenExchange(adapter, request, response, headers);
      if (adapter.isDeclaredTooLarge(headers.contentLength)) {
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
