import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { parseSeconds } from '../../options.ts';
import { formatSecretOnce } from '../../format.ts';
import { rotateSecret } from '../../../platform/integrations.ts';
import { REVOKED_WITHIN } from './set-status.ts';
import { toIntegrationDto } from '../../../http/routes/platform/schemas.ts';

/** `latchkey integrations rotate-secret <client-id> [--grace <seconds>] [--revoke-tokens]` → prints the new secret. */
export function registerIntegrationsRotateSecret(integrations: Command): void {
  integrations
    .command('rotate-secret <client-id>')
    .description('issue a new Client Secret; the old one keeps working for --grace seconds (default 0: stops at once)')
    .option('--grace <seconds>', 'how long the previous secret stays valid')
    .option('--revoke-tokens', 'also revoke every token issued so far (a suspected leak)')
    .option('--json', 'print JSON')
    .action(async (clientId: string, options: { grace?: string; revokeTokens?: boolean; json?: boolean }) => {
      const graceSeconds = parseSeconds('--grace', options.grace, 0);
      const revokeTokens = options.revokeTokens === true;
      const result = await withPlatform((deps) => rotateSecret(deps, clientId, { graceSeconds, revokeTokens }, cliContext()));
      const previous = graceSeconds > 0 ? `The previous secret keeps working for ${graceSeconds} seconds.` : 'The previous secret no longer works.';
      const tokens = revokeTokens ? ` Every token issued so far is revoked: ${REVOKED_WITHIN}.` : '';
      createOutput(options).result(
        // POST …/secrets answers { integration, clientSecret }; graceSeconds and revokeTokens echo its request fields.
        { integration: toIntegrationDto(result.integration), clientSecret: result.clientSecret, graceSeconds, revokeTokens },
        () => `${formatSecretOnce(result, `Rotated the secret of "${result.integration.name}"`)}\n${previous}${tokens}`,
      );
    });
}
