import type { Command } from 'commander';
import { CliError, cliContext, createOutput, EXIT, withPlatform } from '../../context.ts';
import { parseSeconds } from '../../options.ts';
import { setBrowserTokenSettings } from '../../../platform/environments.ts';
import { toEnvironmentDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey environments set-browser-tokens <env> [--lifetime <seconds>] [--allow-client-credentials-from-browser | --deny-client-credentials-from-browser]` */
export function registerEnvironmentsSetBrowserTokens(environments: Command): void {
  environments
    .command('set-browser-tokens <id>')
    .description("set how browser tokens work in an environment: their lifetime, and whether client_credentials requests from a browser page are answered; running servers apply it from their next request")
    .option('--lifetime <seconds>', 'lifetime of the browser tokens token exchange mints, 60 to 3600 seconds (900 until set)')
    .option('--allow-client-credentials-from-browser', 'answer client_credentials requests that carry a browser Origin (not recommended: the secret is in the page)')
    .option('--deny-client-credentials-from-browser', 'refuse client_credentials requests that carry a browser Origin (the default)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { lifetime?: string; allowClientCredentialsFromBrowser?: boolean; denyClientCredentialsFromBrowser?: boolean; json?: boolean }) => {
      if (options.allowClientCredentialsFromBrowser === true && options.denyClientCredentialsFromBrowser === true) {
        throw new CliError('give --allow-client-credentials-from-browser or --deny-client-credentials-from-browser, not both', EXIT.usage);
      }
      const allow = options.allowClientCredentialsFromBrowser === true ? true : options.denyClientCredentialsFromBrowser === true ? false : undefined;
      const lifetime = options.lifetime === undefined ? undefined : parseSeconds('--lifetime', options.lifetime, 0);
      if (lifetime === undefined && allow === undefined) {
        throw new CliError('nothing to set: give --lifetime, --allow-client-credentials-from-browser or --deny-client-credentials-from-browser', EXIT.usage);
      }
      const environment = await withPlatform((deps) =>
        setBrowserTokenSettings(deps, id, { ...(lifetime === undefined ? {} : { browserTokenLifetimeSeconds: lifetime }), ...(allow === undefined ? {} : { allowClientCredentialsFromBrowser: allow }) }, cliContext()),
      );
      createOutput(options).result(toEnvironmentDto(environment), () =>
        [
          `Environment ${environment.id}: browser tokens live ${environment.browserTokenLifetimeSeconds} seconds.`,
          environment.allowClientCredentialsFromBrowser
            ? 'WARNING: client_credentials requests from browser pages are answered in this environment: a Client Secret in a page can be copied by anyone who loads it.'
            : 'client_credentials requests from browser pages are refused (keep the secret on the backend and hand the page a browser token).',
        ].join('\n'),
      );
    });
}
