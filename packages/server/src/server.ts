import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/load-config.ts';
import { openDatabase, type Database } from './storage/database.ts';
import { systemClock, type Clock } from './support/clock.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { buildApp } from './app.ts';
import type { ProcessRole } from './boot.ts';

/** A listening Latchkey server. */
export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** The base URL it listens on. */
  url: string;
  close(): Promise<void>;
}

/**
 * Opens the database, builds the runtime and app, and listens. `database` may be passed in (tests
 * share one); otherwise it is opened from the configuration and closed with the server. `role`
 * (boot.ts) defaults to a single server, or a worker under node:cluster. close() stops the app, then
 * the runtime (its background work and signing threads), then the database it opened.
 */
export async function startServer(options: { config: Config; logger: Logger; clock?: Clock; database?: Database; role?: ProcessRole }): Promise<RunningServer> {
  const { config, logger } = options;
  const ownsDatabase = !options.database;
  // A serving process runs SQLite on a thread of its own, off the event loop (sqlite-worker.ts).
  const database = options.database ?? (await openDatabase(config.databaseUrl, { sqliteOnThread: true }));
  let runtime: Runtime | undefined;
  let app: FastifyInstance | undefined;
  try {
    runtime = await createRuntime({ config, database, clock: options.clock ?? systemClock, logger, role: options.role });
    app = await buildApp({ runtime });
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // A server that cannot start (port taken, SQLite served by another server, …) lets go of what it
    // opened, so the process can exit with the error instead of lingering on the database's thread.
    await app?.close().catch(() => {});
    await runtime?.stop().catch(() => {});
    if (ownsDatabase) await database.close().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    app,
    runtime,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    async close() {
      await app.close();
      await runtime.stop();
      if (ownsDatabase) await database.close();
    },
  };
}
