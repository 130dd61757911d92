import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { deleteIntegration, setIntegrationDisabled } from '../../../platform/integrations.ts';

const STILL_VALID = 'Tokens already issued stay valid until they expire.';

/** `latchkey integrations disable|enable|delete <client-id>` */
export function registerIntegrationsSetStatus(integrations: Command): void {
  for (const verb of ['disable', 'enable'] as const) {
    integrations
      .command(`${verb} <client-id>`)
      .description(verb === 'disable' ? `stop issuing tokens to an integration (${STILL_VALID.toLowerCase()})` : 'issue tokens to a disabled integration again')
      .option('--json', 'print JSON')
      .action(async (clientId: string, options: { json?: boolean }) => {
        const integration = await withPlatform((deps) => setIntegrationDisabled(deps, clientId, verb === 'disable', cliContext()));
        createOutput(options).result(integration, () =>
          verb === 'disable' ? `Disabled ${clientId}: new token requests get invalid_client. ${STILL_VALID}` : `Enabled ${clientId}.`,
        );
      });
  }
  integrations
    .command('delete <client-id>')
    .description(`delete an integration and its secrets (${STILL_VALID.toLowerCase()})`)
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: { json?: boolean }) => {
      await withPlatform((deps) => deleteIntegration(deps, clientId, cliContext()));
      createOutput(options).result({ deleted: clientId }, () => `Deleted ${clientId}. ${STILL_VALID}`);
    });
}
