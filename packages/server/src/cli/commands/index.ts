import type { Command } from 'commander';
import { registerEnvironmentsCreate } from './environments/create.ts';
import { registerEnvironmentsList } from './environments/list.ts';
import { registerIntegrationsCreate } from './integrations/create.ts';
import { registerIntegrationsList } from './integrations/list.ts';
import { registerIntegrationsShow } from './integrations/show.ts';
import { registerIntegrationsSetPermissions } from './integrations/set-permissions.ts';
import { registerIntegrationsRotateSecret } from './integrations/rotate-secret.ts';
import { registerIntegrationsSetStatus } from './integrations/set-status.ts';
import { registerIntegrationsRevokeTokens } from './integrations/revoke-tokens.ts';
import { registerKeysRotate } from './keys/rotate.ts';
import { registerKeysList } from './keys/list.ts';
import { registerAdmins } from './admins/admins.ts';
import { registerDevSeed } from './dev/seed.ts';
import { registerToken } from './token.ts';
import { registerEnvironmentsSetBrowserOrigins } from './environments/set-browser-origins.ts';
import { registerEnvironmentsSetBrowserTokens } from './environments/set-browser-tokens.ts';

/** Registers every noun/verb command (environments, integrations, keys). */
export function registerCommands(program: Command): void {
  const environments = program.command('environments').description('manage environments');
  registerEnvironmentsCreate(environments);
  registerEnvironmentsList(environments);
  registerEnvironmentsSetBrowserOrigins(environments);
  registerEnvironmentsSetBrowserTokens(environments);

  const integrations = program.command('integrations').description('manage integrations (machine users with a Client ID and Client Secret)');
  registerIntegrationsCreate(integrations);
  registerIntegrationsList(integrations);
  registerIntegrationsShow(integrations);
  registerIntegrationsSetPermissions(integrations);
  registerIntegrationsRotateSecret(integrations);
  registerIntegrationsSetStatus(integrations);
  registerIntegrationsRevokeTokens(integrations);

  const keys = program.command('keys').description('manage signing keys');
  registerKeysRotate(keys);
  registerKeysList(keys);

  registerAdmins(program);
  registerDevSeed(program);
  registerToken(program);
}
