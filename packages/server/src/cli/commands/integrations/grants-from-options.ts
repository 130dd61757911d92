import type { ApiCatalogue } from '../../../platform/apis.ts';
import type { Grants } from '../../../platform/integrations.ts';
import { parsePreset } from '../../options.ts';

/** Options that set permissions, shared by `create` and `set-permissions`. */
export interface PermissionOptions {
  preset?: string;
  scope: string[];
  platformScope: string[];
  clearPlatform?: boolean;
}

/**
 * Turns permission options into grants: `--preset` and `--scope` together set the Environment API
 * scopes (their union); `--platform-scope` sets the Platform API scopes. An API not mentioned is left out.
 */
export function grantsFromOptions(apis: ApiCatalogue, options: PermissionOptions, allowNone: boolean): Grants {
  const grants: Grants = {};
  const preset = parsePreset(options.preset, allowNone);
  if (preset !== undefined || options.scope.length > 0) grants['environment-api'] = [...(preset ? apis.presetScopes(preset) : []), ...options.scope];
  if (options.platformScope.length > 0) grants['platform-api'] = options.platformScope;
  if (options.clearPlatform) grants['platform-api'] = [];
  return grants;
}
