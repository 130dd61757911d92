import type { ClientRows } from '../storage/repositories/client-records.ts';
import { DEFAULT_BROWSER_SETTINGS_ROW } from '../storage/repositories/environment-api.ts';
import type { ApiId } from '../platform/apis.ts';
import { isWellFormedClientId } from '../platform/secrets.ts';

/** What the token endpoint needs to know about a client, held in memory. */
export interface ClientRecord {
  integrationId: string;
  environmentId: string;
  clientId: string;
  disabled: boolean;
  grantVersion: number;
  /** Tokens issued before this time (NumericDate seconds) are revoked; new ones carry an iat at or after it. 0 = none. */
  tokensNotBefore: number;
  secrets: { generation: number; hash: Buffer; expiresAt: number | null }[];
  grants: Map<ApiId, readonly string[]>;
  /** Whether it may exchange its access tokens for browser tokens (grants/token-exchange.ts). */
  browserTokens: boolean;
  /** Its environment's lifetime of browser tokens, seconds (environment browser settings; default 900). */
  browserTokenLifetimeSeconds: number;
  /** Whether its environment tolerates client_credentials requests from a browser (an Origin header). */
  allowClientCredentialsFromBrowser: boolean;
}

/**
 * What the directory needs from storage: a client's rows by Client ID, or null
 * (storage/repositories/client-records.ts: readClientRows).
 */
export type ClientRowSource = (clientId: string) => Promise<ClientRows | null>;

/** Loads a client through `source` and shapes it for the token endpoint, or null. */
async function loadClientRecord(source: ClientRowSource, clientId: string): Promise<ClientRecord | null> {
  const rows = await source(clientId);
  if (!rows) return null;
  const { integration: row, secrets, grants, browserSettings } = rows;
  return {
    integrationId: row.id,
    environmentId: row.environment_id,
    clientId: row.client_id,
    disabled: row.disabled === 1,
    grantVersion: row.grant_version,
    tokensNotBefore: Math.floor(row.tokens_not_before / 1000),
    secrets: secrets.map((s) => ({ generation: s.generation, hash: Buffer.from(s.secret_hash, 'hex'), expiresAt: s.expires_at })),
    grants: new Map(grants.map((g) => [g.api_id as ApiId, g.scopes.split(' ')])),
    browserTokens: row.browser_tokens === 1,
    browserTokenLifetimeSeconds: browserSettings?.browser_token_ttl_seconds ?? DEFAULT_BROWSER_SETTINGS_ROW.browser_token_ttl_seconds,
    allowClientCredentialsFromBrowser: browserSettings?.allow_client_credentials_from_browser === 1,
  };
}

/**
 * An in-memory directory of clients by Client ID, so the hot path of a token request reads no
 * database. Unknown IDs are remembered too (as null) so probing for IDs costs the same as a wrong
 * secret. Entries are dropped as hot-path-caches.ts says (its invalidation contract), and only there.
 */
export class ClientDirectory {
  private readonly entries = new Map<string, ClientRecord | null>();
  private readonly loading = new Map<string, Promise<ClientRecord | null>>();

  constructor(
    private readonly source: ClientRowSource,
    private readonly maxEntries = 200_000,
  ) {}

  /** The client if it is in memory (null = known not to exist), undefined if it must be loaded. */
  peek(clientId: string): ClientRecord | null | undefined {
    return this.entries.get(clientId);
  }

  /** The client with this ID, or null. IDs that cannot be Latchkey IDs never reach the database. */
  async find(clientId: string): Promise<ClientRecord | null> {
    const known = this.entries.get(clientId);
    if (known !== undefined) return known;
    if (!isWellFormedClientId(clientId)) return null;
    const pending = this.loading.get(clientId);
    if (pending) return pending;
    const load = loadClientRecord(this.source, clientId).then((record) => {
      // Store only if no invalidation arrived while loading (it removes the pending entry).
      if (this.loading.get(clientId) === load) {
        this.loading.delete(clientId);
        if (this.entries.size >= this.maxEntries) this.entries.clear();
        this.entries.set(clientId, record);
      }
      return record;
    });
    load.catch(() => this.loading.delete(clientId));
    this.loading.set(clientId, load);
    return load;
  }

  /** Forgets a client so the next request reloads it. */
  invalidate(clientId: string): void {
    this.entries.delete(clientId);
    this.loading.delete(clientId);
  }

  /** Forgets every client (used when change notifications may have been missed). */
  invalidateAll(): void {
    this.entries.clear();
    this.loading.clear();
  }
}
