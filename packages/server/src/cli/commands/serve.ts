import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../support/logger.ts';
import { startServer } from '../../server.ts';
import { bootstrapAdmin } from '../../platform/bootstrap-admin.ts';

/** `latchkey serve`: runs the server until SIGINT/SIGTERM. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Latchkey server (token endpoint, discovery, APIs)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const server = await startServer({ config, logger });
      const bootstrap = await bootstrapAdmin(server.runtime.platform, config);
      const db = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'PostgreSQL';
      const signIn = !bootstrap.created
        ? ['Sign in with your admin account (reset a password: npx latchkey admins reset-password <email>).']
        : bootstrap.generatedPassword
          ? [`First run: created the platform admin ${bootstrap.email}`, `  one-time password  ${bootstrap.generatedPassword}`, '  (shown once; change it with: npx latchkey admins reset-password ' + bootstrap.email + ')']
          : [`First run: created the platform admin ${bootstrap.email} with the password from LATCHKEY_ADMIN_PASSWORD.`];
      process.stdout.write(
        [
          '',
          `Latchkey is running at ${server.url}`,
          `  console         ${server.url}/`,
          `  API docs        ${server.url}/docs`,
          `  issuer          ${config.issuer}`,
          `  token endpoint  ${server.url}/oauth/token`,
          `  discovery       ${server.url}/.well-known/oauth-authorization-server`,
          `  database        ${db}`,
          '',
          ...signIn,
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
