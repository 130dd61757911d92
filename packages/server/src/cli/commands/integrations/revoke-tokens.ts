import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { revokeIntegrationTokens } from '../../../platform/integrations.ts';
import { REVOKED_WITHIN } from './set-status.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey integrations revoke-tokens <client-id>`: revokes every token issued to it so far. */
export function registerIntegrationsRevokeTokens(integrations: Command): void {
  integrations
    .command('revoke-tokens <client-id>')
    .description('revoke every token issued to an integration so far (a suspected leak); its next token request gets a new one')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: { json?: boolean }) => {
      const integration = await withPlatform((deps) => revokeIntegrationTokens(deps, clientId, cliContext()));
      createOutput(options).result(toIntegrationDto(integration), () =>
        `Revoked every token of ${clientId} issued before ${new Date(integration.tokensRevokedAt ?? 0).toISOString()}: ${REVOKED_WITHIN}. Its next token request gets a new token.`,
      );
    });
}
