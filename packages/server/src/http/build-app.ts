import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import http from 'node:http';
import type { Runtime } from '../runtime.ts';
import { createTokenFastPath } from './token-fast-path.ts';
import { TokenHttpAdapter } from './token-http-adapter.ts';
import { metricsText } from '../support/cluster-metrics.ts';
import { pingDatabase } from '../storage/database.ts';
import { tokenRoutes } from './routes/token.ts';
import { discoveryRoutes } from './routes/discovery.ts';
import { revocationFeedRoutes } from './routes/revocation-feed.ts';
import { environmentApiRoutes } from '../environment-api/index.ts';
import { platformApiRoutes } from './routes/platform/index.ts';
import { consoleRoutes } from './routes/console.ts';
import { registerOpenApi } from './openapi.ts';
import { environmentDocsRoutes } from './routes/environment-docs.ts';
import { problemErrorHandler, refuseNulInUrl, sendBadUrl, sendRouteNotFound } from './problem.ts';
import { boundJsonBodyDepth } from './json-body-parser.ts';

/** Builds the HTTP application over a runtime. Opens no socket: call listen() or inject(). */
export async function buildApp({ runtime }: { runtime: Runtime }): Promise<FastifyInstance> {
  const { config, metrics, logger } = runtime;
  // One adapter between HTTP and the token endpoint, for both the fast path and the Fastify route.
  const tokenEndpoint = new TokenHttpAdapter({ endpoint: runtime.handleTokenRequest, metrics, logger, bodyLimitBytes: config.tokenBodyLimitBytes, trustProxy: config.trustProxy });
  const tokenFastPath = createTokenFastPath(tokenEndpoint);
  const app = Fastify({
    // POST /oauth/token is answered on node:http before Fastify (http/token-fast-path.ts).
    serverFactory: (handler) => http.createServer((request, response) => {
      if (!tokenFastPath(request, response)) handler(request, response);
    }),
    loggerInstance: runtime.logger as FastifyBaseLogger,
    // One log line per request would dominate the cached-token path; failures are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify would build a pino child logger (with a request id) for every request; that cost as
    // much CPU as the rest of a cached-token request. Errors are logged with their own context.
    childLoggerFactory: (logger) => logger,
    trustProxy: runtime.config.trustProxy === false ? false : runtime.config.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    frameworkErrors: sendBadUrl,
    // Reject unknown properties where a schema forbids them instead of silently dropping them
    // (Fastify's default), so a misspelt field is an error the caller sees.
    ajv: { customOptions: { removeAdditional: false } },
    // Requests Node cannot even parse (oversized headers: 431, malformed: 400) get a JSON body and
    // no-store like every other error, instead of Node's bare default.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = JSON.stringify({ error: 'invalid_request', error_description: status === 431 ? 'request headers are too large' : 'malformed HTTP request' });
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
    },
  });
  boundJsonBodyDepth(app);
  app.addHook('onRequest', refuseNulInUrl);
  await registerOpenApi(app, runtime);
  await app.register(tokenRoutes, { runtime, tokenEndpoint });
  await app.register(discoveryRoutes, { runtime });
  await app.register(revocationFeedRoutes, { runtime });
  await app.register(platformApiRoutes, { runtime });
  await app.register(environmentApiRoutes, { runtime });
  // Last: the console's SPA fallback must not shadow any API route.
  await app.register(consoleRoutes, { runtime });
  // For load balancers: /healthz = the process answers; /readyz = it can serve (database and keys).
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const database = await pingDatabase(runtime.database);
    const keys = runtime.keyStore.isReady(runtime.clock.now());
    return reply.code(database && keys ? 200 : 503).header('cache-control', 'no-store').send({ status: database && keys ? 'ready' : 'not ready', database, keys });
  });
  app.get('/metrics', async (_request, reply) => reply.type(runtime.metrics.registry.contentType).send(await metricsText(runtime.metrics.registry)));
  await environmentDocsRoutes(app);

  app.addHook('onClose', async () => tokenFastPath.stop());
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler((request, reply) => sendRouteNotFound(request, reply));
  return app;
}
