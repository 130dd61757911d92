import type { Config } from '../config/load-config.ts';

/** One permission of an API. */
export interface ScopeDefinition {
  name: string;
  description: string;
}

/** A resource server tokens can be issued for: its identifier (audience) and scope catalogue (design §6). */
export interface ApiDefinition {
  id: ApiId;
  name: string;
  audience: string;
  /** Other identifiers a client may send for this API; the token still carries `audience`. */
  aliases: string[];
  scopes: ScopeDefinition[];
}

/** The built-in APIs. */
export type ApiId = 'environment-api' | 'platform-api';

/** A named set of Environment API scopes offered in the console and CLI. */
export type PresetName = 'read-only' | 'all' | 'none';

/** The Environment API's scopes, in catalogue order. */
export const ENVIRONMENT_API_SCOPES: ScopeDefinition[] = [
  { name: 'templates:read', description: 'List and read templates' },
  { name: 'templates:write', description: 'Create, change and delete templates' },
  { name: 'projects:read', description: 'List and read projects' },
  { name: 'projects:write', description: 'Create, change and delete projects' },
  { name: 'media:read', description: 'List and download media (editor media connector)' },
  { name: 'media:write', description: 'Upload and delete media' },
  { name: 'fonts:read', description: 'List and download fonts (editor font connector)' },
  { name: 'fonts:write', description: 'Upload and delete fonts' },
];

/** The Platform API's scopes, in catalogue order. */
export const PLATFORM_API_SCOPES: ScopeDefinition[] = [
  { name: 'integrations:read', description: "Read this environment's integrations and their permissions" },
  { name: 'integrations:write', description: "Create and change this environment's integrations" },
  { name: 'audit:read', description: "Read this environment's audit log" },
  { name: 'tokens:introspect', description: "Ask whether a token of this environment is active (RFC 7662 introspection), for APIs that do not verify tokens themselves" },
];

/** The catalogue of APIs this server issues tokens for, with identifiers taken from the configuration. */
export class ApiCatalogue {
  readonly apis: readonly ApiDefinition[];
  private readonly byIdentifier = new Map<string, ApiDefinition>();

  constructor(config: Pick<Config, 'environmentApiAudience' | 'environmentApiAliases' | 'platformApiAudience'>) {
    this.apis = [
      { id: 'environment-api', name: 'Environment API', audience: config.environmentApiAudience, aliases: config.environmentApiAliases, scopes: ENVIRONMENT_API_SCOPES },
      { id: 'platform-api', name: 'Platform API', audience: config.platformApiAudience, aliases: [], scopes: PLATFORM_API_SCOPES },
    ];
    for (const api of this.apis) {
      for (const identifier of [api.audience, ...api.aliases]) this.byIdentifier.set(identifier, api);
    }
  }

  /** The API a client names by `audience` / `resource`, or undefined if none has that identifier. */
  findByIdentifier(identifier: string): ApiDefinition | undefined {
    return this.byIdentifier.get(identifier) ?? this.byIdentifier.get(identifier.replace(/\/+$/, ''));
  }

  /** The API with this id. */
  get(id: ApiId): ApiDefinition {
    return this.apis.find((api) => api.id === id)!;
  }

  /** The default API when a token request names none: the Environment API (design §4). */
  get defaultApi(): ApiDefinition {
    return this.get('environment-api');
  }

  /** Sorts scopes into catalogue order and drops duplicates, so equal sets compare and cache equal. */
  normalizeScopes(api: ApiDefinition, scopes: Iterable<string>): string[] {
    const wanted = new Set(scopes);
    return api.scopes.map((s) => s.name).filter((name) => wanted.has(name));
  }

  /** Scopes of a preset: Read-only = every `:read` Environment API scope; All = every one. */
  presetScopes(preset: PresetName): string[] {
    const scopes = this.get('environment-api').scopes.map((s) => s.name);
    if (preset === 'all') return scopes;
    if (preset === 'read-only') return scopes.filter((name) => name.endsWith(':read'));
    return [];
  }

  /** Which API's catalogue a scope name belongs to, if any. */
  apiOfScope(scope: string): ApiDefinition | undefined {
    return this.apis.find((api) => api.scopes.some((s) => s.name === scope));
  }
}
