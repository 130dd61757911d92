import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.ts';
import { tokenRoutes } from './routes/token.ts';
import { discoveryRoutes } from './routes/discovery.ts';

/** Builds the HTTP application over a runtime. Opens no socket: call listen() or inject(). */
export async function buildApp({ runtime }: { runtime: Runtime }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    // One log line per request would dominate the cached-token path; failures are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: runtime.config.trustProxy === false ? false : runtime.config.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });
  await app.register(tokenRoutes, { runtime });
  await app.register(discoveryRoutes, { runtime });
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
