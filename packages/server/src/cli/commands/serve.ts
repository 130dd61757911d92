import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../../config/load-config.ts';
import { createLogger } from '../../support/logger.ts';
import { openDatabase } from '../../storage/database.ts';
import { bootstrapAdmin, type BootstrapResult } from '../../platform/bootstrap-admin.ts';
import { createPlatformDeps } from '../../platform/platform-deps.ts';
import { systemClock } from '../../support/clock.ts';
import { CliError, EXIT } from '../context.ts';
import { serveClusterMetrics } from '../../support/cluster-metrics.ts';
import type { ServingLease } from '../../storage/serving-lease.ts';
import { prepareToServe, processRole, type ProcessRole } from '../../boot.ts';

function banner(url: string, config: Config, bootstrap: BootstrapResult, workers: number): string {
  const db = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'PostgreSQL';
  const signIn = !bootstrap.created
    ? ['Sign in with your admin account (reset a password: npx latchkey admins reset-password <email>).']
    : bootstrap.generatedPassword
      ? [
          `First run: created the platform admin ${bootstrap.email}`,
          `  temporary password  ${bootstrap.generatedPassword}`,
          '  (shown once; the first sign-in asks you to choose your own password before anything else)',
        ]
      : [`First run: created the platform admin ${bootstrap.email} with the password from LATCHKEY_ADMIN_PASSWORD.`];
  return [
    '',
    `Latchkey is running at ${url}${workers > 1 ? ` (${workers} workers)` : ''}`,
    `  console         ${url}/`,
    `  API docs        ${url}/docs`,
    `  issuer          ${config.issuer}`,
    `  token endpoint  ${url}/oauth/token`,
    `  discovery       ${url}/.well-known/oauth-authorization-server`,
    `  database        ${db}`,
    '',
    ...signIn,
    '',
    'Create an environment and an integration, then get a token:',
    '  npx latchkey environments create demo',
    '  npx latchkey integrations create --env demo --name "My backend" --preset read-only',
    `  curl -s ${url}/oauth/token -d grant_type=client_credentials -d client_id=<CLIENT_ID> -d client_secret=<CLIENT_SECRET>`,
    '',
  ].join('\n');
}

/** Runs one server in this process (alone, or as a cluster worker) until SIGINT/SIGTERM, then drains and exits. */
async function serveInProcess(config: Config, logger: Logger, role: Exclude<ProcessRole, 'primary'>): Promise<void> {
  // Imported here, not at the top: every other CLI command would otherwise load the whole HTTP stack.
  const { startServer } = await import('../../server.ts');
  const server = await startServer({ config, logger, role });
  // A worker's primary made the first admin and prints the banner for all of them.
  if (role === 'single') {
    const bootstrap = await bootstrapAdmin(server.runtime.platform, config);
    process.stdout.write(banner(server.url, config, bootstrap, 1) + '\n');
  }
  onShutdownSignal(logger, async () => {
    // Fastify stops accepting, finishes in-flight requests; the runtime flushes usage counters.
    await server.close();
  });
}

function onShutdownSignal(logger: Logger, drain: () => Promise<void>): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    drain().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/**
 * The cluster primary: prepares the database once (migrations, serving lease, first signing key,
 * first admin; boot.ts decides which) so workers do not race, forks the workers (they share the
 * listening port), replaces a worker that dies, and on SIGTERM passes the signal on and waits for
 * every worker to drain.
 */
async function runPrimary(config: Config, logger: Logger, workers: number): Promise<void> {
  const database = await openDatabase(config.databaseUrl);
  let bootstrap: BootstrapResult;
  // On SQLite the primary holds the serving lease for its workers while they run, so no other server
  // serves the same file (storage/serving-lease.ts); the workers store every token before answering.
  let lease: ServingLease | undefined;
  try {
    const deps = createPlatformDeps({ config, database, clock: systemClock });
    lease = await prepareToServe({
      config,
      database,
      clock: systemClock,
      signingKeySealKey: deps.keys.signingKeySealKey,
      role: 'primary',
      onLeaseLost: () => logger.error('another server took over this SQLite database while its workers were serving'),
    });
    bootstrap = await bootstrapAdmin(deps, config);
  } catch (error) {
    await lease?.release().catch(() => {});
    lease = undefined;
    throw error;
  } finally {
    if (!lease) await database.close();
  }
  let stopping = false;
  let listening = 0;
  const fork = () => cluster.fork({ LATCHKEY_CLUSTER_WORKER: '1' });
  cluster.on('listening', () => {
    listening++;
    if (listening === workers) process.stdout.write(banner(`http://${config.host}:${config.port}`, config, bootstrap, workers) + '\n');
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.warn({ pid: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
    fork();
  });
  serveClusterMetrics();
  for (let i = 0; i < workers; i++) fork();
  onShutdownSignal(logger, async () => {
    stopping = true;
    const exits = Object.values(cluster.workers ?? {}).map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (!worker || worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
    if (lease) {
      await lease.release();
      await database.close();
    }
  });
}

/** `latchkey serve [--workers N]`: runs the server until SIGINT/SIGTERM. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Latchkey server (token endpoint, discovery, APIs, console)')
    .option('--workers <n>', 'worker processes sharing the port (node:cluster); default 1, or LATCHKEY_WORKERS')
    .action(async (options: { workers?: string }) => {
      const raw = options.workers ?? process.env.LATCHKEY_WORKERS ?? '1';
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 64) throw new CliError(`--workers must be a whole number from 1 to 64, got '${raw}'`, EXIT.usage);
      const workers = Number(raw);
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const role = processRole(workers);
      if (role === 'primary') return runPrimary(config, logger, workers);
      return serveInProcess(config, logger, role);
    });
}
