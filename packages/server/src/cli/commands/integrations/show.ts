import type { Command } from 'commander';
import { createOutput, withPlatform } from '../../context.ts';
import { formatIntegration } from '../../format.ts';
import { getIntegration } from '../../../platform/integrations.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey integrations show <client-id>` */
export function registerIntegrationsShow(integrations: Command): void {
  integrations
    .command('show <client-id>')
    .description('show one integration (never its secret)')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: { json?: boolean }) => {
      const integration = await withPlatform((deps) => getIntegration(deps, clientId));
      createOutput(options).result(toIntegrationDto(integration), () => formatIntegration(integration));
    });
}
