import type { Command } from 'commander';
import { CliError, cliContext, createOutput, EXIT, withPlatform } from '../../context.ts';
import { setBrowserSettings } from '../../../environment-api/browser-settings.ts';

/** `latchkey environments set-browser-origins <env> [origin...] [--allow-write-tokens yes|no]` */
export function registerEnvironmentsSetBrowserOrigins(environments: Command): void {
  environments
    .command('set-browser-origins <id> [origins...]')
    .description('set the origins whose pages may load media and fonts with a read-only token (none given: no origin)')
    .option('--allow-write-tokens <yes|no>', 'tolerate tokens with write scopes from browsers (default no; the seed says never)')
    .option('--json', 'print JSON')
    .action(async (id: string, origins: string[], options: { allowWriteTokens?: string; json?: boolean }) => {
      const allow = options.allowWriteTokens;
      if (allow !== undefined && allow !== 'yes' && allow !== 'no') throw new CliError(`--allow-write-tokens must be yes or no, got '${allow}'`, EXIT.usage);
      const settings = await withPlatform((deps) =>
        setBrowserSettings(deps, id, { allowedOrigins: origins, allowWriteTokensInBrowser: allow === undefined ? undefined : allow === 'yes' }, cliContext()),
      );
      createOutput(options).result({ environmentId: id, ...settings }, () =>
        [
          `Environment ${id}: ${settings.allowedOrigins.length === 0 ? 'no origin may load media and fonts from a browser' : `pages on ${settings.allowedOrigins.join(', ')} may load media and fonts`}.`,
          settings.allowWriteTokensInBrowser
            ? 'WARNING: tokens with write scopes are accepted from browsers in this environment.'
            : 'Tokens with write scopes are refused from browsers (use a read-only integration for the front-end).',
        ].join('\n'),
      );
    });
}
