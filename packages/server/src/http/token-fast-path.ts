import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { Runtime } from '../runtime.ts';
import { OAuthError, RequestTooLarge } from '../oauth/errors.ts';
import { oauthErrorResponse, type TokenEndpointResponse } from '../oauth/token-endpoint.ts';
import type { TokenRequestBody } from '../oauth/token-request.ts';
import { readTokenBody } from './token-body.ts';

/**
 * `POST /oauth/token` straight on node:http, in front of Fastify (installed through Fastify's
 * serverFactory). The token endpoint is the one path whose speed is the product: answered from
 * memory, its cost was dominated by the framework's per-request machinery (about as much CPU as the
 * whole cached-token logic). This path does only what that request needs — read a bounded body,
 * pick the client address, call the same framework-free endpoint the Fastify route calls — and
 * hands every other request (and anything unusual, such as a query string) to Fastify unchanged.
 */
export function createTokenFastPath(runtime: Runtime): ((request: IncomingMessage, response: ServerResponse) => boolean) & { stop(): void } {
  const limit = runtime.config.tokenBodyLimitBytes;
  // The same trust rule Fastify applies for request.ip (LATCHKEY_TRUSTED_PROXIES).
  const trust = runtime.config.trustProxy === false ? null : proxyaddr.compile(runtime.config.trustProxy);
  const clientAddress = (request: IncomingMessage) => (trust ? proxyaddr(request, trust) : (request.socket.remoteAddress ?? ''));
  let closing = false;

  const respond = (request: IncomingMessage, response: ServerResponse, answer: TokenEndpointResponse, started: bigint) => {
    runtime.metrics.observeTokenDuration(Number(process.hrtime.bigint() - started) / 1e9);
    response.setHeader('content-length', Buffer.byteLength(answer.body));
    response.writeHead(answer.statusCode, answer.headers);
    response.end(answer.body);
    // An unread remainder (oversized body) must not be parsed as the next request.
    if (!request.complete) request.destroy();
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const started = process.hrtime.bigint();
    const fail = (error: OAuthError) => respond(request, response, oauthErrorResponse(error), started);
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) return fail(new RequestTooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.removeAllListeners('end');
        fail(new RequestTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      let body: TokenRequestBody;
      let text: string;
      try {
        text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
        body = size === 0 && request.headers['content-type'] === undefined ? { kind: 'none' } : readTokenBody(request.headers['content-type'], text);
      } catch (error) {
        return fail(error as OAuthError);
      }
      runtime
        .handleTokenRequest({ query: undefined, authorization: request.headers.authorization, body, ip: clientAddress(request), rawBody: text })
        .then((answer) => respond(request, response, answer, started), (error: unknown) => {
          runtime.logger.error({ err: error }, 'token fast path failed');
          response.destroy();
        });
    });
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
