import { hash } from 'node:crypto';
import { isDatabaseUnavailable } from '../support/database-errors.ts';
import type { TokenCacheRow, TokenCacheRows } from '../storage/repositories/token-cache-rows.ts';
import type { Clock } from '../support/clock.ts';
import { open } from '../keys/sealed-box.ts';
import type { Sealing } from '../keys/signing-thread.ts';
import type { MintedToken, SealedMintedToken } from './mint-access-token.ts';

/**
 * What identifies one cached token (design §4): equal keys get the same token. `tokensNotBefore` is
 * the integration's revocation time: revoking its tokens starts a new key, so the next request gets a
 * new token instead of the revoked one (on every instance alike: it comes from the database).
 */
export interface TokenCacheKey {
  integrationId: string;
  apiId: string;
  scopes: readonly string[];
  grantVersion: number;
  secretGeneration: number;
  tokensNotBefore: number;
}

/** Options of the token cache. */
export interface TokenCacheOptions {
  /** The shared table (storage/repositories/token-cache-rows.ts: createTokenCacheRows). */
  rows: TokenCacheStore;
  clock: Clock;
  tokenSealKey: Buffer;
  refreshWindowSeconds: number;
  /**
   * Set when this process is the only one that writes the `token_cache` table (SQLite, one serving
   * process): see loadStoredKeys(). Called when a token answered before it was stored could not be
   * stored; the client keeps its token, a restart mints a new one.
   */
  soleWriter?: { onStoreError: (error: unknown) => void };
  /** Whether a stored token (its claims) is revoked: one written by another instance, or before a restart. */
  isRevoked?: (claims: StoredTokenClaims) => boolean;
}

function keyString(key: TokenCacheKey): string {
  // The not-before joins the key only once set, so keys (and their stored rows) from before revocation existed stay the same.
  const revoked = key.tokensNotBefore === 0 ? '' : `\n${key.tokensNotBefore}`;
  return `${key.integrationId}\n${key.apiId}\n${key.scopes.join(' ')}\n${key.grantVersion}\n${key.secretGeneration}${revoked}`;
}

/** What the process holds for one key: its token, and the mint under way for it, if any. */
interface Slot {
  token: MintedToken | undefined;
  /** Concurrent misses for the key share this one mint (single-flight). */
  flight: Promise<MintedToken> | undefined;
}

/** What the token cache needs of its shared table. */
export type TokenCacheStore = Pick<TokenCacheRows, 'inserter' | 'read' | 'replaceIfUnchanged' | 'liveKeys' | 'deleteExpired'>;

/** The claims of a stored token that revocation is checked against. */
export interface StoredTokenClaims {
  jti: string;
  client_id: string;
  iat: number;
  environment: string | undefined;
}

/** The claims a stored token is checked against revocation with (the token endpoint signed it; no need to verify). */
function claimsOf(token: string): StoredTokenClaims {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown; client_id?: unknown; iat?: unknown; environment?: unknown };
    return { jti: String(payload.jti ?? ''), client_id: String(payload.client_id ?? ''), iat: Number(payload.iat ?? 0), environment: typeof payload.environment === 'string' ? payload.environment : undefined };
  } catch {
    return { jti: '', client_id: '', iat: 0, environment: undefined };
  }
}

/**
 * Inserts token-cache rows in batches: one multi-row INSERT … ON CONFLICT … RETURNING for everything
 * waiting, and only one batch in flight at a time. Under load many mints are in flight at once; one
 * statement (one transaction, one WAL append, one round trip) for all of them costs far less than one
 * each, and while a batch is being written the next one grows instead of queueing as many small ones.
 * Each caller learns whether its own row was the one inserted. On a conflict the stored row is kept
 * (`keep`: another instance's token wins) or replaced (`replace`: the sole writer's newer token).
 */
class BatchedInserter {
  private pending: { row: TokenCacheRow; resolve: (inserted: boolean) => void; reject: (error: unknown) => void }[] = [];
  private draining: Promise<void> | undefined;
  private readonly writeRows: (rows: readonly TokenCacheRow[]) => Promise<Set<string>>;

  constructor(store: TokenCacheStore, onConflict: 'keep' | 'replace') {
    this.writeRows = store.inserter(onConflict);
  }

  insert(row: TokenCacheRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      // After this turn of the event loop, so that every mint finishing in it joins the batch.
      this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    });
  }

  /** Resolves once every row handed to insert() so far has been written (or has failed). */
  async settled(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        for (let i = 0; i < batch.length; i += 500) await this.write(batch.slice(i, i + 500));
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async write(chunk: BatchedInserter['pending']): Promise<void> {
    // Two mints for one key in one batch (different instances cannot share a batch; one process
    // single-flights per key) would be a bug; de-duplicate anyway so ON CONFLICT semantics hold.
    const unique = [...new Map(chunk.map((item) => [item.row.cache_key, item.row])).values()];
    try {
      const keys = await this.writeRows(unique);
      for (const item of chunk) item.resolve(keys.has(item.row.cache_key));
    } catch (error) {
      // One bad row fails the whole statement: an integration deleted while its token was being
      // minted, say (the row's foreign key). Row by row, only that row fails, not its batch-mates.
      // A database that is down fails them all at once instead.
      if (chunk.length === 1 || isDatabaseUnavailable(error)) for (const item of chunk) item.reject(error);
      else for (const item of chunk) await this.write([item]);
    }
  }
}

/**
 * The seed's token cache: the same key gets the same token until less than the refresh window of its
 * life remains, then a new one is minted. Two layers: a per-process map (the hot path: no database,
 * no crypto), and a database table shared by every instance, so N instances on one PostgreSQL hand
 * out one token per key. Concurrent misses for one key share one mint (single-flight), and a
 * compare-and-swap on the row lets exactly one instance replace a token that is due for renewal.
 */
export class TokenCache {
  // One map, one entry per key: a miss looks the key up once and keeps the slot for the rest of it.
  private readonly memory = new Map<string, Slot>();
  private readonly inserter: BatchedInserter;
  /** Sole writer only: stores tokens after they were answered, replacing the row of an older token. */
  private readonly storeBehind: BatchedInserter | undefined;
  /** Sole writer only, once loaded: keys whose rows date from before this process (loadStoredKeys). */
  private storedBefore: Set<string> | undefined;
  private replacedWhileFresh = 0;

  constructor(private readonly options: TokenCacheOptions) {
    this.inserter = new BatchedInserter(options.rows, 'keep');
    if (options.soleWriter) this.storeBehind = new BatchedInserter(options.rows, 'replace');
  }

  /**
   * Sole writer (TokenCacheOptions.soleWriter): reads which keys have an unexpired row from before
   * this process started. Every other key can only have the row this process writes, so its first
   * mint needs no database round trip before the answer: it is answered at once and stored behind
   * it. In scenario (c) of `npm run bench` (a new key on every request) that waiting was a fifth of
   * each request's time. The keys from before still take the shared path (insert, or adopt the stored
   * token), so a restart keeps handing out the tokens of the previous run.
   */
  async loadStoredKeys(): Promise<void> {
    if (!this.storeBehind) return;
    this.storedBefore = new Set(await this.options.rows.liveKeys(this.options.clock.now()));
  }

  /** Stores every token before answering from now on (the process may no longer be the sole writer). */
  stopStoringBehind(): void {
    this.storedBefore = undefined;
  }

  /** Resolves once every token answered before it was stored has been written. */
  async flush(): Promise<void> {
    await this.storeBehind?.settled();
  }

  /**
   * Changes whenever a token still fresh is replaced in memory. Callers that hold on to a token (the
   * token endpoint's repeat memo) compare it instead of looking the key up again.
   */
  get epoch(): number {
    return this.replacedWhileFresh;
  }

  /** Whether `token` may still be handed out: more than the refresh window of its life is left. */
  isFresh(token: MintedToken | undefined, now: number): token is MintedToken {
    return token !== undefined && token.expiresAt - now > this.options.refreshWindowSeconds * 1000;
  }

  /**
   * The token for `key`: the fresh one in memory, otherwise the one minted with `mint` and cached.
   * `mint` also seals the token with the sealing it is given (the cache's key, bound to the row it
   * will be stored in). Always a promise: the hot path (an exact repeat) never gets here, and its
   * one caller is an async function, so answering synchronously saved nothing measurable.
   */
  async getOrMint(key: TokenCacheKey, mint: (sealing: Sealing) => Promise<SealedMintedToken>): Promise<{ token: MintedToken; minted: boolean }> {
    const id = keyString(key);
    let slot = this.memory.get(id);
    if (slot === undefined) this.memory.set(id, (slot = { token: undefined, flight: undefined }));
    else if (this.isFresh(slot.token, this.options.clock.now())) return { token: slot.token, minted: false };
    return this.join(slot, id, key.integrationId, mint);
  }

  /** Waits for the slot's mint, starting it if none is under way. */
  private async join(slot: Slot, id: string, integrationId: string, mint: (sealing: Sealing) => Promise<SealedMintedToken>): Promise<{ token: MintedToken; minted: boolean }> {
    // Only the caller that started the flight, and only if its token won, reports a mint.
    let ours: MintedToken | undefined;
    let flight = slot.flight;
    if (flight === undefined) {
      flight = slot.flight = this.fetchOrMint(slot, id, integrationId, mint, (token) => (ours = token)).finally(() => (slot.flight = undefined));
    }
    const token = await flight;
    return { token, minted: token === ours };
  }

  private async fetchOrMint(slot: Slot, id: string, integrationId: string, mint: (sealing: Sealing) => Promise<SealedMintedToken>, onMinted: (token: MintedToken) => void): Promise<MintedToken> {
    const { rows, tokenSealKey } = this.options;
    const cacheKey = hash('sha256', id, 'hex');
    const context = `token:${cacheKey}`;
    // Insert first: for a key nobody holds yet (the common case of a miss) that is one statement.
    // Only when the insert conflicts do we read what another instance (or an earlier run) stored.
    const minted = await mint({ key: tokenSealKey, context });
    // Only the token and its times stay in memory, not the sealed copy.
    const fresh: MintedToken = { token: minted.token, jti: minted.jti, issuedAt: minted.issuedAt, expiresAt: minted.expiresAt };
    onMinted(fresh);
    const values = { token_sealed: minted.sealed, issued_at: fresh.issuedAt, expires_at: fresh.expiresAt };
    const row = { cache_key: cacheKey, integration_id: integrationId, ...values };
    if (this.storeBehind !== undefined && this.storedBefore !== undefined && !this.storedBefore.has(cacheKey)) {
      this.storeBehind.insert(row).catch(this.options.soleWriter!.onStoreError);
      return this.remember(slot, fresh);
    }
    // From here on this process holds the key's token; its later renewals are stored behind.
    this.storedBefore?.delete(cacheKey);
    if (await this.inserter.insert(row)) return this.remember(slot, fresh);

    const existing = await this.readRow(cacheKey, context);
    // A stored token that was revoked (RFC 7009) is never adopted: it is replaced like one due for renewal.
    if (this.isFresh(existing?.token, this.options.clock.now()) && !existing!.revoked) return this.remember(slot, existing!.token);
    if (!existing) return this.remember(slot, fresh);
    // Due for renewal: replace only the token we saw; if another instance renewed it first, adopt theirs.
    if (await rows.replaceIfUnchanged(cacheKey, values, existing.row.expires_at)) return this.remember(slot, fresh);
    const winner = await this.readRow(cacheKey, context);
    return this.remember(slot, winner?.token ?? fresh);
  }

  /** The row another instance (or an earlier run) stored for `cacheKey`, with its token opened. */
  private async readRow(cacheKey: string, context: string) {
    const row = await this.options.rows.read(cacheKey);
    if (!row) return null;
    const token = open(this.options.tokenSealKey, row.token_sealed, context);
    const claims = claimsOf(token);
    return { row, token: { token, jti: claims.jti, issuedAt: row.issued_at, expiresAt: row.expires_at }, revoked: this.options.isRevoked?.(claims) === true };
  }

  /**
   * Forgets a revoked token (RFC 7009) wherever this process holds it, so the next request for its key
   * mints a new one; the shared row is replaced then, since a revoked stored token is never adopted
   * (fetchOrMint). Revocations are rare, so a scan of the slots costs less than an index by jti kept
   * up to date on every mint.
   */
  forgetToken(jti: string): void {
    for (const slot of this.memory.values()) {
      if (slot.token?.jti === jti) {
        slot.token = undefined;
        this.replacedWhileFresh++;
      }
    }
  }

  private remember(slot: Slot, token: MintedToken): MintedToken {
    const previous = slot.token;
    // Replacing a token that is still fresh invalidates what callers hold (see epoch).
    if (previous !== undefined && previous !== token && this.isFresh(previous, this.options.clock.now())) this.replacedWhileFresh++;
    slot.token = token;
    return token;
  }

  /** Drops tokens that can no longer be served from memory and from the table. */
  async sweep(): Promise<void> {
    const now = this.options.clock.now();
    // A slot with a mint under way stays: the mint fills it in.
    for (const [id, slot] of this.memory) if (slot.flight === undefined && !this.isFresh(slot.token, now)) this.memory.delete(id);
    await this.options.rows.deleteExpired(now);
  }
}
