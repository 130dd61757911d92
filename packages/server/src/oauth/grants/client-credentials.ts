import type { ApiCatalogue, ApiDefinition } from '../../platform/apis.ts';
import type { ClientRecord } from '../client-directory.ts';
import { AccessDenied, InvalidRequest, InvalidScope, InvalidTarget, quoteForDescription } from '../errors.ts';
import type { TokenParameters } from '../token-request.ts';

/** What a client-credentials request resolves to: which API, which scopes. */
export interface ClientCredentialsGrant {
  api: ApiDefinition;
  scopes: string[];
}

/** The grant this module implements (RFC 6749 §4.4). */
export const grantType = 'client_credentials';

/** What an unknown audience is echoed as, unless it looks like an API identifier (a URI). */
const URI_LIKE = /^(https?:\/\/|urn:)[^\s@]{1,200}$/;
/** The shape of a scope name (`templates:read`); a secret sent in `scope` by mistake has none. */
const SCOPE_LIKE = /^[A-Za-z][\w.-]{0,40}:[\w.-]{1,40}$/;
const MAX_RECORDED_SCOPES = 20;

/**
 * What a refused request asked for, in a form that may be stored (its audit row): the API it named
 * (canonical audience; an unknown one only if it looks like a URI) and the scopes it asked for (each
 * only if it has a scope's shape). A client that mixed up its parameters may have sent its secret
 * in any of them, and nothing here may hold it.
 */
export function describeRequestedGrant(apis: ApiCatalogue, params: TokenParameters): { audience: string; scopes: string[] } {
  const read = (name: string): string | undefined => {
    try {
      return params.get(name);
    } catch {
      return undefined; // not a string: nothing to record
    }
  };
  const identifier = read('audience') ?? read('resource');
  const api = identifier === undefined ? apis.defaultApi : apis.findByIdentifier(identifier);
  const audience = api !== undefined ? api.audience : URI_LIKE.test(identifier!) ? identifier! : '(not a URI)';
  const names = (read('scope') ?? '').split(' ').filter((name) => name !== '');
  const scopes = names.slice(0, MAX_RECORDED_SCOPES).map((name) => (SCOPE_LIKE.test(name) ? name : '(not a scope name)'));
  return { audience, scopes };
}

/**
 * Resolves the target API and scopes of a client-credentials request (RFC 6749 §4.4.2, RFC 8707 §2).
 * `audience` (Auth0's name, used by the seed) and `resource` (RFC 8707) both select the API; absent,
 * the Environment API. `scope` narrows the grant; absent, every granted scope is issued (§3.3).
 */
export function resolveClientCredentialsGrant(apis: ApiCatalogue, client: ClientRecord, params: TokenParameters): ClientCredentialsGrant {
  const audience = params.get('audience');
  const resource = params.get('resource');
  if (audience !== undefined && resource !== undefined && audience !== resource) {
    throw new InvalidRequest('audience and resource name different APIs; send one of them');
  }
  const identifier = audience ?? resource;
  let api = apis.defaultApi;
  if (identifier !== undefined) {
    const found = apis.findByIdentifier(identifier);
    if (!found) {
      // Echo the identifier only if it looks like one (a URI), never arbitrary text such as a secret.
      const shown = /^(https?:\/\/|urn:)[^\s]{1,200}$/.test(identifier) ? quoteForDescription(identifier, 100) : '(not a URI)';
      throw new InvalidTarget(`unknown audience ${shown}: this server issues tokens for ${apis.apis.map((a) => `${a.audience} (${a.name})`).join(' and ')}`);
    }
    api = found;
  }

  const granted = client.grants.get(api.id) ?? [];
  if (granted.length === 0) {
    throw new AccessDenied(`this integration has no permission for the ${api.name} (${api.audience}); grant it scopes on the Permissions tab`);
  }

  const requested = params.get('scope');
  if (requested === undefined) return { api, scopes: [...granted] };

  const names = requested.split(' ').filter((name) => name !== '');
  if (names.length === 0) return { api, scopes: [...granted] };
  for (const name of names) {
    if (granted.includes(name)) continue;
    const known = api.scopes.some((s) => s.name === name);
    const owner = apis.apiOfScope(name);
    if (known) throw new InvalidScope(`scope ${quoteForDescription(name)} is not granted to this integration for the ${api.name}; granted: ${granted.join(' ')}`);
    if (owner) throw new InvalidScope(`scope ${quoteForDescription(name)} belongs to the ${owner.name}; request it with audience=${owner.audience}`);
    throw new InvalidScope(`scope ${quoteForDescription(name)} does not exist in the ${api.name}`);
  }
  return { api, scopes: apis.normalizeScopes(api, names) };
}
