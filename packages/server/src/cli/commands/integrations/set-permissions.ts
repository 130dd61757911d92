import type { Command } from 'commander';
import { CliError, cliContext, createOutput, EXIT, withPlatform } from '../../context.ts';
import { collect, scopesHelp } from '../../options.ts';
import { formatIntegration } from '../../format.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';
import { setPermissions } from '../../../platform/integrations.ts';
import { grantsFromOptions, type PermissionOptions } from './grants-from-options.ts';

/** `latchkey integrations set-permissions <client-id> [--preset …] [--scope …]…` */
export function registerIntegrationsSetPermissions(integrations: Command): void {
  integrations
    .command('set-permissions <client-id>')
    .description("replace an integration's scopes; the next token request gets the new scopes (tokens already issued keep theirs until they expire)")
    .option('--preset <preset>', 'Environment API preset: read-only | all | none')
    .option('--scope <scope>', 'Environment API scope (repeatable)', collect)
    .option('--platform-scope <scope>', 'Platform API scope (repeatable)', collect)
    .option('--clear-platform', 'remove all Platform API scopes')
    .option('--json', 'print JSON')
    .addHelpText('after', scopesHelp())
    .action(async (clientId: string, options: PermissionOptions & { json?: boolean }) => {
      const integration = await withPlatform(async (deps) => {
        const grants = grantsFromOptions(deps.apis, options, true);
        if (Object.keys(grants).length === 0) throw new CliError('nothing to set: give --preset, --scope, --platform-scope or --clear-platform', EXIT.usage);
        return setPermissions(deps, clientId, grants, cliContext());
      });
      createOutput(options).result(toIntegrationDto(integration), () => `${formatIntegration(integration)}\n\nTokens issued before this change keep their old scopes until they expire.`);
    });
}
