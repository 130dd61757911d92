import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import type { KeyStore } from '../keys/key-store.ts';
import type { Clock } from '../support/clock.ts';
import type { Metrics } from '../support/metrics.ts';
import { createTokenFastPath } from './token-fast-path.ts';
import { TokenHttpAdapter, type TokenHttpAdapterDeps } from './token-http-adapter.ts';
import { metricsText } from '../support/cluster-metrics.ts';
import { tokenRoutes, type TokenRouteDeps } from './routes/token.ts';
import { discoveryRoutes, type DiscoveryRouteDeps } from './routes/discovery.ts';
import { revocationFeedRoutes, type RevocationFeedRouteDeps } from './routes/revocation-feed.ts';
import { environmentApiRoutes, type EnvironmentApiOptions } from '../environment-api/index.ts';
import { platformApiRoutes, type PlatformApiRouteDeps } from './routes/platform/index.ts';
import { consoleRoutes, type ConsoleRoutesOptions } from './routes/console.ts';
import { registerOpenApi } from './openapi.ts';
import { environmentDocsRoutes } from './routes/environment-docs.ts';
import { problemErrorHandler, refuseNulInUrl, sendBadUrl, sendRouteNotFound } from '../support/problem.ts';
import { boundJsonBodyDepth } from './json-body-parser.ts';
import { lazySerializerFactory, lazyValidatorFactory } from './lazy-schema-compilers.ts';

/** What /healthz, /readyz and /metrics use. */
export interface OperationsRouteDeps {
  /** True when the database answers (storage/database.ts pingDatabase). */
  pingDatabase: () => Promise<boolean>;
  keyStore: Pick<KeyStore, 'isReady'>;
  clock: Clock;
  metrics: Pick<Metrics, 'registry'>;
}

/**
 * What the HTTP application is built from: Fastify's own settings, then the dependencies of each
 * route plugin, each declared by the plugin itself. The composition root (app.ts) builds them.
 */
export interface HttpAppDeps {
  config: Pick<Config, 'trustProxy' | 'issuer'>;
  logger: Logger;
  /** The token endpoint's HTTP adapter, shared by the node:http fast path and the Fastify route. */
  tokenEndpoint: TokenHttpAdapterDeps;
  token: TokenRouteDeps;
  discovery: DiscoveryRouteDeps;
  revocationFeed: RevocationFeedRouteDeps;
  platformApi: PlatformApiRouteDeps;
  environmentApi: EnvironmentApiOptions;
  console: ConsoleRoutesOptions;
  operations: OperationsRouteDeps;
}

/** Builds the HTTP application from its routes' dependencies. Opens no socket: call listen() or inject(). */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  // One adapter between HTTP and the token endpoint, for both the fast path and the Fastify route.
  const tokenEndpoint = new TokenHttpAdapter(deps.tokenEndpoint);
  const tokenFastPath = createTokenFastPath(tokenEndpoint);
  const app = Fastify({
    // POST /oauth/token is answered on node:http before Fastify (http/token-fast-path.ts).
    serverFactory: (handler) => http.createServer((request, response) => {
      if (!tokenFastPath(request, response)) handler(request, response);
    }),
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One log line per request would dominate the cached-token path; failures are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify would build a pino child logger (with a request id) for every request; that cost as
    // much CPU as the rest of a cached-token request. Errors are logged with their own context.
    childLoggerFactory: (logger) => logger,
    trustProxy: deps.config.trustProxy === false ? false : deps.config.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    frameworkErrors: sendBadUrl,
    // Reject unknown properties where a schema forbids them instead of silently dropping them
    // (Fastify's default), so a misspelt field is an error the caller sees.
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory(), buildSerializer: lazySerializerFactory() } },
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
  await registerOpenApi(app, { config: deps.config });
  await app.register(tokenRoutes, { ...deps.token, tokenEndpoint });
  await app.register(discoveryRoutes, deps.discovery);
  await app.register(revocationFeedRoutes, deps.revocationFeed);
  await app.register(platformApiRoutes, deps.platformApi);
  await app.register(environmentApiRoutes, deps.environmentApi);
  // Last: the console's SPA fallback must not shadow any API route.
  await app.register(consoleRoutes, deps.console);
  const { operations } = deps;
  // For load balancers: /healthz = the process answers; /readyz = it can serve (database and keys).
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const database = await operations.pingDatabase();
    const keys = operations.keyStore.isReady(operations.clock.now());
    return reply.code(database && keys ? 200 : 503).header('cache-control', 'no-store').send({ status: database && keys ? 'ready' : 'not ready', database, keys });
  });
  app.get('/metrics', async (_request, reply) => reply.type(operations.metrics.registry.contentType).send(await metricsText(operations.metrics.registry)));
  await environmentDocsRoutes(app);

  app.addHook('onClose', async () => tokenFastPath.stop());
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler((request, reply) => sendRouteNotFound(request, reply));
  return app;
}
