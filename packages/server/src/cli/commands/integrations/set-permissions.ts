import type { Command } from 'commander';
import { CliError, cliContext, createOutput, EXIT, withPlatform } from '../../context.ts';
import { collect, scopesHelp } from '../../options.ts';
import { formatIntegration } from '../../format.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';
import { changePermissions } from '../../../platform/integrations.ts';
import { grantsFromOptions, type PermissionOptions } from './grants-from-options.ts';

/** `latchkey integrations set-permissions <client-id> [--preset …] [--scope …]… [--browser-tokens | --no-browser-tokens]` */
export function registerIntegrationsSetPermissions(integrations: Command): void {
  integrations
    .command('set-permissions <client-id>')
    .description("replace an integration's scopes and/or allow or stop browser tokens; the next token request sees the change (tokens already issued keep their scopes until they expire)")
    .option('--preset <preset>', 'Environment API preset: read-only | all | none')
    .option('--scope <scope>', 'Environment API scope (repeatable)', collect)
    .option('--platform-scope <scope>', 'Platform API scope (repeatable)', collect)
    .option('--clear-platform', 'remove all Platform API scopes')
    .option('--browser-tokens', 'allow it to exchange its access tokens for short-lived read-only browser tokens (token exchange)')
    .option('--no-browser-tokens', 'stop it from exchanging its access tokens for browser tokens')
    .option('--json', 'print JSON')
    .addHelpText('after', scopesHelp())
    .action(async (clientId: string, options: PermissionOptions & { browserTokens?: boolean; json?: boolean }) => {
      let grantsGiven = false;
      const integration = await withPlatform(async (deps) => {
        const grants = grantsFromOptions(deps.apis, options, true);
        grantsGiven = Object.keys(grants).length > 0;
        if (!grantsGiven && options.browserTokens === undefined) {
          throw new CliError('nothing to set: give --preset, --scope, --platform-scope, --clear-platform, --browser-tokens or --no-browser-tokens', EXIT.usage);
        }
        return changePermissions(deps, clientId, { grants: grantsGiven ? grants : undefined, browserTokens: options.browserTokens }, cliContext());
      });
      const notes = [
        ...(grantsGiven ? ['Tokens issued before this change keep their old scopes until they expire.'] : []),
        ...(options.browserTokens === false ? ['Browser tokens already issued expire within their lifetime (at most an hour); revoke-tokens ends them now.'] : []),
      ];
      createOutput(options).result(toIntegrationDto(integration), () => [formatIntegration(integration), '', ...notes].join('\n'));
    });
}
