import type { FastifyInstance, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { InvalidRequest, MethodNotAllowed, OAuthError, RequestTooLarge, ServerError } from '../../oauth/errors.ts';
import { isAuthorizationRepeated, repeatedAuthorization, type TokenRequestBody } from '../../oauth/token-request.ts';

/**
 * `POST /oauth/token`. This plugin has its own body parsers and error handler so every failure,
 * including the ones Fastify raises before the handler runs (size, content type, JSON), is answered
 * in RFC 6749 §5.2 form rather than Fastify's.
 */
export async function tokenRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }): Promise<void> {
  const bodyLimit = runtime.config.tokenBodyLimitBytes;
  app.removeAllContentTypeParsers();
  // Every content type is taken as text and handed over uninterpreted, as the node:http fast path
  // does: the endpoint reads it (readTokenParameters), so both paths answer every body alike.
  for (const type of ['application/x-www-form-urlencoded', 'application/json', '*']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit }, (request, text, done) => {
      done(null, { contentType: request.headers['content-type'], text: text as string } satisfies TokenRequestBody);
    });
  }

  /** Answers a request refused before its body was read, through the endpoint so it is audited too. */
  const refuse = async (request: FastifyRequest, reply: FastifyReply, refusal: OAuthError) => {
    const response = await runtime.handleTokenRequest({
      query: request.query as Record<string, unknown> | undefined,
      authorization: request.headers.authorization,
      body: { contentType: request.headers['content-type'], text: '' },
      ip: request.ip,
      refusal,
    });
    return reply.code(response.statusCode).headers(response.headers).send(response.body);
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let oauthError: OAuthError;
    if (error instanceof OAuthError) oauthError = error;
    else if (error.statusCode === 413) oauthError = new RequestTooLarge(bodyLimit);
    else if (error.statusCode === 415) oauthError = new InvalidRequest('send the parameters as application/x-www-form-urlencoded or application/json');
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) oauthError = new InvalidRequest(`malformed request (${error.code ?? 'bad request'})`);
    else {
      request.log.error({ err: error }, 'token endpoint failed');
      oauthError = new ServerError();
    }
    return refuse(request, reply, oauthError);
  });

  app.post('/oauth/token', { bodyLimit }, async (request, reply) => {
    const started = runtime.metrics.startTokenTimer();
    const response = await runtime.handleTokenRequest({
      query: request.query as Record<string, unknown> | undefined,
      authorization: request.headers.authorization,
      body: (request.body as TokenRequestBody | undefined) ?? { contentType: request.headers['content-type'], text: '' },
      ip: request.ip,
      // The node:http fast path hands requests with a repeated header to this route.
      refusal: isAuthorizationRepeated(request.raw.rawHeaders) ? repeatedAuthorization() : undefined,
    });
    runtime.metrics.observeTokenDuration(started);
    return reply.code(response.statusCode).headers(response.headers).send(response.body);
  });

  // RFC 6749 §3.2: the token endpoint takes POST only; a GET must never issue a token. Every other
  // method Fastify routes (OPTIONS and TRACE included; HEAD follows GET) gets 405 with Allow: POST.
  app.route({
    method: app.supportedMethods.filter((method) => method !== 'POST' && method !== 'HEAD'),
    url: '/oauth/token',
    handler: async (request, reply) => refuse(request, reply, new MethodNotAllowed()),
  });
}
