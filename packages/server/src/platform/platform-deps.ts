import type { Config } from '../config/load-config.ts';
import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { deriveKeys, resolveMasterKey, type DerivedKeys } from '../keys/master-key.ts';
import { ApiCatalogue } from './apis.ts';
import type { IntegrationDeps } from './integrations.ts';

/**
 * Domain dependencies built from configuration: what the CLI needs to change things, without the
 * token endpoint, caches or HTTP stack (kept out so every CLI command starts quickly).
 */
export function createPlatformDeps(deps: { config: Config; database: Database; clock: Clock }): IntegrationDeps & { keys: DerivedKeys; masterKey: Buffer } {
  const masterKey = resolveMasterKey(deps.config);
  const keys = deriveKeys(masterKey);
  return { database: deps.database, clock: deps.clock, apis: new ApiCatalogue(deps.config), secretHashKey: keys.secretHashKey, tokenTtlSeconds: deps.config.tokenTtlSeconds, keys, masterKey };
}
