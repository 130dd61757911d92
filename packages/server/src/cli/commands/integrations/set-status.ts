import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { deleteIntegration, setIntegrationDisabled } from '../../../platform/integrations.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';

/** What a revocation written by the CLI reaches, and how fast (docs/revocation.md). */
export const REVOKED_WITHIN = 'every API that follows the revocation feed refuses them within a second';

/** `latchkey integrations disable|enable|delete <client-id>` */
export function registerIntegrationsSetStatus(integrations: Command): void {
  for (const verb of ['disable', 'enable'] as const) {
    integrations
      .command(`${verb} <client-id>`)
      .description(verb === 'disable' ? 'stop issuing tokens to an integration and revoke every token it holds' : 'issue tokens to a disabled integration again (tokens revoked by the disable stay revoked)')
      .option('--json', 'print JSON')
      .action(async (clientId: string, options: { json?: boolean }) => {
        const integration = await withPlatform((deps) => setIntegrationDisabled(deps, clientId, verb === 'disable', cliContext()));
        createOutput(options).result(toIntegrationDto(integration), () =>
          verb === 'disable' ? `Disabled ${clientId}: new token requests get invalid_client, and its tokens are revoked: ${REVOKED_WITHIN}.` : `Enabled ${clientId}.`,
        );
      });
  }
  integrations
    .command('delete <client-id>')
    .description('delete an integration and its secrets, and revoke every token it holds')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: { json?: boolean }) => {
      await withPlatform((deps) => deleteIntegration(deps, clientId, cliContext()));
      createOutput(options).result({ deleted: clientId }, () => `Deleted ${clientId}; its tokens are revoked: ${REVOKED_WITHIN}.`);
    });
}
