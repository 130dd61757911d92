import type { Command } from 'commander';
import { cliContext, createOutput, withPlatform } from '../../context.ts';
import { parseSeconds } from '../../options.ts';
import { formatKeys, toSigningKeyJson } from '../../format.ts';
import { rotateSigningKey } from '../../../keys/signing-keys.ts';

/** `latchkey keys rotate [--lead <seconds>]` */
export function registerKeysRotate(keys: Command): void {
  keys
    .command('rotate')
    .description('add a signing key: published now, signing after --lead seconds; the old key stays published until its tokens expire')
    .option('--lead <seconds>', 'publish-before-sign delay (default LATCHKEY_KEY_PUBLISH_LEAD, 300)')
    .option('--json', 'print JSON')
    .action(async (options: { lead?: string; json?: boolean }) => {
      const key = await withPlatform(async (deps) => {
        const lead = parseSeconds('--lead', options.lead, deps.config.keyPublishLeadSeconds);
        return rotateSigningKey({ database: deps.database, signingKeySealKey: deps.keys.signingKeySealKey, tokenTtlSeconds: deps.config.tokenTtlSeconds }, deps.config.signingAlgorithm, Date.now(), lead, cliContext());
      });
      createOutput(options).result(toSigningKeyJson(key), () => `Added ${formatKeys([key])}`);
    });
}
