import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { collect, scopesHelp } from '../../options.ts';
import { formatGrants, formatSecretOnce } from '../../format.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';
import { createIntegration } from '../../../platform/integrations.ts';
import { grantsFromOptions, type PermissionOptions } from './grants-from-options.ts';

/** `latchkey integrations create --env <id> --name <name> …` → prints the Client ID and Client Secret, and what it grants. */
export function registerIntegrationsCreate(integrations: Command): void {
  integrations
    .command('create')
    .description('create an integration and print its Client ID and Client Secret (shown once)')
    .requiredOption('--env <id>', 'environment the integration belongs to')
    .requiredOption('--name <name>', 'a meaningful name')
    .option('--description <text>', 'what the integration is for')
    .option('--preset <preset>', 'Environment API preset: read-only | all (without --preset or --scope it grants nothing)')
    .option('--scope <scope>', 'Environment API scope (repeatable)', collect)
    .option('--platform-scope <scope>', 'Platform API scope (repeatable)', collect)
    .option('--browser-tokens', 'allow it to exchange its access tokens for short-lived read-only browser tokens (token exchange)')
    .option('--json', 'print JSON')
    .addHelpText('after', scopesHelp())
    .action(async (options: PermissionOptions & { env: string; name: string; description?: string; browserTokens?: boolean; json?: boolean }) => {
      const result = await withPlatform((deps) =>
        createIntegration(
          deps,
          { environmentId: options.env, name: options.name, description: options.description ?? '', grants: grantsFromOptions(deps.apis, options, false), browserTokens: options.browserTokens === true },
          cliContext(),
        ),
      );
      createOutput(options).result(
        { integration: toIntegrationDto(result.integration), clientSecret: result.clientSecret },
        () =>
          [
            formatSecretOnce(result, `Created integration "${result.integration.name}" in environment ${result.integration.environmentId}`),
            '',
            formatGrants(result.integration.grants, result.integration.clientId),
            ...(result.integration.browserTokens ? ['Browser tokens: allowed (its backend may exchange its tokens for read-only browser tokens).'] : []),
          ].join('\n'),
      );
    });
}
