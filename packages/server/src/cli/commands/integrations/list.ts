import type { Command } from 'commander';
import { createOutput, withPlatform } from '../../context.ts';
import { listIntegrations } from '../../../platform/integrations.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey integrations list --env <id>` */
export function registerIntegrationsList(integrations: Command): void {
  integrations
    .command('list')
    .description("list an environment's integrations")
    .requiredOption('--env <id>', 'environment')
    .option('--json', 'print JSON')
    .action(async (options: { env: string; json?: boolean }) => {
      const list = await withPlatform((deps) => listIntegrations(deps, options.env));
      // The shape of GET /api/v1/environments/{env}/integrations: the CLI lists every one, so no next page.
      createOutput(options).result({ integrations: list.map(toIntegrationDto), nextCursor: null }, () =>
        list.length === 0
          ? `no integrations in ${options.env} yet: latchkey integrations create --env ${options.env} --name <name>`
          : list.map((i) => `${i.clientId}  ${i.name}${i.disabled ? '  [DISABLED]' : ''}  ${i.grants['environment-api']?.join(' ') ?? '(no Environment API access)'}`).join('\n'),
      );
    });
}
