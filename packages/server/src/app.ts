// The composition root of the HTTP side: the one place that knows the whole runtime and hands each
// route plugin the few dependencies it declares (http/build-app.ts HttpAppDeps). Nothing under
// http/ or environment-api/ sees the runtime.
import type { FastifyInstance } from 'fastify';
import { buildHttpApp, type HttpAppDeps } from './http/build-app.ts';
import type { ConsoleRoutesOptions } from './http/routes/console.ts';
import type { Runtime } from './runtime.ts';
import { pingDatabase } from './storage/database.ts';

/** Options of {@link buildApp} besides the runtime. */
export interface BuildAppOptions {
  runtime: Runtime;
  /** The console plugin's options (a test points `distDir` at its own build). */
  console?: ConsoleRoutesOptions;
}

/** Each route plugin's dependencies, taken from `runtime`. */
export function httpAppDeps({ runtime, console = {} }: BuildAppOptions): HttpAppDeps {
  const { config, clock, logger, database, platform, revocations, metrics, keyStore, changes, handleTokenRequest } = runtime;
  return {
    config,
    logger,
    tokenEndpoint: { endpoint: handleTokenRequest, metrics, logger, bodyLimitBytes: config.tokenBodyLimitBytes, trustProxy: config.trustProxy },
    token: { config, clock, logger, caches: runtime.caches, keys: runtime.keys, rateLimiter: runtime.rateLimiter, keyStore, revocations, platform },
    discovery: { config, apis: runtime.apis, keyStore, clock },
    revocationFeed: { revocations, metrics },
    platformApi: { config, clock, revocations, platform, usage: runtime.usage },
    environmentApi: { config, clock, logger, database, changes, revocations },
    console,
    operations: { pingDatabase: () => pingDatabase(database), keyStore, clock, metrics },
  };
}

/** Builds the HTTP application over a runtime. Opens no socket: call listen() or inject(). */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  return buildHttpApp(httpAppDeps(options));
}
