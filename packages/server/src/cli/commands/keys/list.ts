import type { Command } from 'commander';
import { createOutput, withPlatform } from '../../context.ts';
import { formatKeys, toSigningKeyJson } from '../../format.ts';
import { listSigningKeys } from '../../../keys/signing-keys.ts';

/** `latchkey keys list` */
export function registerKeysList(keys: Command): void {
  keys
    .command('list')
    .description('list signing keys and their state (next, active, retiring, retired)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await withPlatform((deps) =>
        listSigningKeys({ database: deps.database, signingKeySealKey: deps.keys.signingKeySealKey, tokenTtlSeconds: deps.config.tokenTtlSeconds }, Date.now()),
      );
      createOutput(options).result({ keys: list.map(toSigningKeyJson) }, () => formatKeys(list));
    });
}
