import { describe, expect, it } from 'vitest';
import { applyPreset, describeGrants, describeScopeKey, flattenGrants, groupByResource, matchesPreset, toGrants, writeScopes } from './permissions.ts';
import type { ApiCatalogue } from './wire.ts';

const env = ['templates', 'projects', 'media', 'fonts'].flatMap((r) => [`${r}:read`, `${r}:write`]);
const catalogue: ApiCatalogue = {
  apis: [
    { id: 'environment-api', name: 'Environment API', audience: 'https://lk/environment-api', scopes: env.map((name) => ({ name, description: name })) },
    { id: 'platform-api', name: 'Platform API', audience: 'https://lk/platform-api', scopes: ['integrations:read', 'integrations:write', 'audit:read'].map((name) => ({ name, description: name })) },
  ],
  presets: { 'read-only': env.filter((s) => s.endsWith(':read')), all: env },
};

describe('console permission helpers', () => {
  it('groups scopes by the resource before the colon, in catalogue order', () => {
    expect(groupByResource(catalogue.apis[0]!.scopes).map((g) => [g.resource, g.scopes.map((s) => s.name)])).toEqual([
      ['templates', ['templates:read', 'templates:write']],
      ['projects', ['projects:read', 'projects:write']],
      ['media', ['media:read', 'media:write']],
      ['fonts', ['fonts:read', 'fonts:write']],
    ]);
  });

  it('applies a preset to the Environment API only and keeps Platform API scopes', () => {
    const selected = flattenGrants({ 'environment-api': ['templates:write'], 'platform-api': ['audit:read'] });
    const readOnly = applyPreset(selected, 'read-only', catalogue);
    expect([...readOnly].sort()).toEqual(['environment-api:fonts:read', 'environment-api:media:read', 'environment-api:projects:read', 'environment-api:templates:read', 'platform-api:audit:read']);
    expect(matchesPreset(readOnly, 'read-only', catalogue)).toBe(true);
    expect(matchesPreset(readOnly, 'all', catalogue)).toBe(false);
    expect(toGrants(readOnly, catalogue)).toEqual({ 'environment-api': ['templates:read', 'projects:read', 'media:read', 'fonts:read'], 'platform-api': ['audit:read'] });
  });

  it('finds the write scopes the browser warning is about', () => {
    expect(writeScopes(flattenGrants({ 'environment-api': ['media:read', 'media:write'], 'platform-api': ['integrations:write'] }))).toEqual(['environment-api:media:write', 'platform-api:integrations:write']);
    expect(writeScopes(applyPreset(new Set(), 'read-only', catalogue))).toEqual([]);
  });

  it('summarises grants for the list and names scopes the way the PUT response keys them', () => {
    expect(describeGrants({}, catalogue)).toBe('None');
    expect(describeGrants({ 'environment-api': env }, catalogue)).toBe('All permissions');
    expect(describeGrants({ 'environment-api': catalogue.presets['read-only'], 'platform-api': ['audit:read'] }, catalogue)).toBe('Read-only + Platform API');
    expect(describeGrants({ 'environment-api': ['media:read'] }, catalogue)).toBe('1 scope');
    expect(describeScopeKey('environment-api:templates:write', catalogue)).toBe('templates:write (Environment API)');
  });
});
