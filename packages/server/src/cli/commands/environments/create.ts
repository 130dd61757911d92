import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { createEnvironment } from '../../../platform/environments.ts';
import { toEnvironmentDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey environments create <id> [--name <name>]` */
export function registerEnvironmentsCreate(environments: Command): void {
  environments
    .command('create <id>')
    .description('create an environment (id: lower-case letters, digits, hyphens)')
    .option('--name <name>', 'display name (defaults to the id)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { name?: string; json?: boolean }) => {
      const environment = await withPlatform((deps) => createEnvironment(deps, { id, ...(options.name !== undefined ? { name: options.name } : {}) }, cliContext()));
      createOutput(options).result(toEnvironmentDto(environment), () => `Created environment ${environment.id} (${environment.name})`);
    });
}
