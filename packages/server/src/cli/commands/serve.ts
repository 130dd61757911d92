import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../support/logger.ts';
import { startServer } from '../../server.ts';

/** `latchkey serve`: runs the server until SIGINT/SIGTERM. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Latchkey server (token endpoint, discovery, APIs)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const server = await startServer({ config, logger });
      const db = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'PostgreSQL';
      process.stdout.write(
        [
          '',
          `Latchkey is running at ${server.url}`,
          `  issuer          ${config.issuer}`,
          `  token endpoint  ${server.url}/oauth/token`,
          `  discovery       ${server.url}/.well-known/oauth-authorization-server`,
          `  database        ${db}`,
          '',
          'Create an environment and an integration, then get a token:',
          '  npx latchkey environments create demo',
          '  npx latchkey integrations create --env demo --name "My backend" --preset read-only',
          `  curl -s ${server.url}/oauth/token -d grant_type=client_credentials -d client_id=<CLIENT_ID> -d client_secret=<CLIENT_SECRET>`,
          '',
        ].join('\n') + '\n',
      );
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        logger.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}
