import type { Command } from 'commander';
import { createOutput, withPlatform } from '../../context.ts';
import { listEnvironments } from '../../../platform/environments.ts';
import { toEnvironmentDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey environments list` */
export function registerEnvironmentsList(environments: Command): void {
  environments
    .command('list')
    .description('list environments')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await withPlatform((deps) => listEnvironments(deps));
      createOutput(options).result({ environments: list.map(toEnvironmentDto) }, () => (list.length === 0 ? 'no environments yet: latchkey environments create <id>' : list.map((e) => `${e.id}  ${e.name}`).join('\n')));
    });
}
