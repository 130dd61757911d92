import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { collect } from '../../options.ts';
import { formatSecretOnce } from '../../format.ts';
import { createIntegration } from '../../../platform/integrations.ts';
import { grantsFromOptions, type PermissionOptions } from './grants-from-options.ts';

/** `latchkey integrations create --env <id> --name <name> …` → prints client_id and client_secret. */
export function registerIntegrationsCreate(integrations: Command): void {
  integrations
    .command('create')
    .description('create an integration and print its Client ID and Client Secret (shown once)')
    .requiredOption('--env <id>', 'environment the integration belongs to')
    .requiredOption('--name <name>', 'a meaningful name')
    .option('--description <text>', 'what the integration is for', '')
    .option('--preset <preset>', 'Environment API preset: read-only | all')
    .option('--scope <scope>', 'Environment API scope (repeatable)', collect, [])
    .option('--platform-scope <scope>', 'Platform API scope (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(async (options: PermissionOptions & { env: string; name: string; description: string; json?: boolean }) => {
      const result = await withPlatform((deps) =>
        createIntegration(deps, { environmentId: options.env, name: options.name, description: options.description, grants: grantsFromOptions(deps.apis, options, false) }, cliContext()),
      );
      createOutput(options).result(
        { client_id: result.integration.clientId, client_secret: result.clientSecret, integration: result.integration },
        () => formatSecretOnce(result, `Created integration "${result.integration.name}" in environment ${result.integration.environmentId}`),
      );
    });
}
