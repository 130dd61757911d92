import type { ApiCatalogue, ApiId, Grants } from './wire.ts';

// Scopes as the Permissions tab shows them: per API, then per resource (the part before ':').

/** A set of granted scopes, keyed `api:scope` (`environment-api:templates:read`), as in the PUT response's `changed`. */
export type ScopeSet = Set<string>;

/** The grants as a flat set of `api:scope` keys. */
export function flattenGrants(grants: Grants): ScopeSet {
  return new Set(Object.entries(grants).flatMap(([api, scopes]) => (scopes ?? []).map((scope) => `${api}:${scope}`)));
}

/** The flat set back into grants for every API in the catalogue (an API with no scope gets []). */
export function toGrants(selected: ScopeSet, catalogue: ApiCatalogue): Grants {
  const grants: Grants = {};
  for (const api of catalogue.apis) grants[api.id] = api.scopes.map((s) => s.name).filter((name) => selected.has(`${api.id}:${name}`));
  return grants;
}

/** One API's scopes grouped by resource, in catalogue order. */
export function groupByResource(scopes: { name: string; description: string }[]): { resource: string; scopes: { name: string; description: string }[] }[] {
  const groups = new Map<string, { name: string; description: string }[]>();
  for (const scope of scopes) {
    const resource = scope.name.split(':')[0] ?? scope.name;
    groups.set(resource, [...(groups.get(resource) ?? []), scope]);
  }
  return [...groups].map(([resource, list]) => ({ resource, scopes: list }));
}

/** Selection after applying a preset to the Environment API; other APIs keep what they have. */
export function applyPreset(selected: ScopeSet, preset: 'read-only' | 'all', catalogue: ApiCatalogue): ScopeSet {
  const next = new Set([...selected].filter((key) => !key.startsWith('environment-api:')));
  for (const scope of catalogue.presets[preset] ?? []) next.add(`environment-api:${scope}`);
  return next;
}

/** Whether the Environment API selection is exactly a preset. */
export function matchesPreset(selected: ScopeSet, preset: 'read-only' | 'all', catalogue: ApiCatalogue): boolean {
  const env = [...selected].filter((key) => key.startsWith('environment-api:'));
  const wanted = catalogue.presets[preset] ?? [];
  return env.length === wanted.length && wanted.every((scope) => selected.has(`environment-api:${scope}`));
}

/** Scopes that let a token change something (anything but `:read`). */
export function writeScopes(selected: ScopeSet): string[] {
  return [...selected].filter((key) => !key.endsWith(':read'));
}

/** `environment-api:templates:read` → `templates:read (Environment API)`. */
export function describeScopeKey(key: string, catalogue: ApiCatalogue): string {
  const api = catalogue.apis.find((a) => key.startsWith(`${a.id}:`));
  return api ? `${key.slice(api.id.length + 1)} (${api.name})` : key;
}

/** A one-line summary for the integrations list: "All permissions", "Read-only", "None", "5 scopes". */
export function describeGrants(grants: Grants, catalogue: ApiCatalogue): string {
  const selected = flattenGrants(grants);
  if (selected.size === 0) return 'None';
  const platform = [...selected].some((key) => key.startsWith('platform-api:'));
  const suffix = platform ? ' + Platform API' : '';
  if (matchesPreset(selected, 'all', catalogue)) return `All permissions${suffix}`;
  if (matchesPreset(selected, 'read-only', catalogue)) return `Read-only${suffix}`;
  return `${selected.size} scope${selected.size === 1 ? '' : 's'}`;
}

/** The ids of the APIs, for iterating grants in a typed way. */
export const API_IDS: ApiId[] = ['environment-api', 'platform-api'];
