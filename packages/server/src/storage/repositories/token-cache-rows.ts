import type { Database } from '../database.ts';
import { MultiRowInsert } from '../multi-row-insert.ts';
import type { TokenCacheTable } from '../schema.ts';

// The shared token cache table (token_cache), one row per cache key, its token sealed. How tokens
// are cached, renewed and replaced is decided in oauth/token-cache.ts; this is its storage.

/** One token-cache row. */
export type TokenCacheRow = TokenCacheTable;

const TOKEN_CACHE_COLUMNS = ['cache_key', 'integration_id', 'token_sealed', 'issued_at', 'expires_at'] as const;

/** The token-cache table over one database. */
export interface TokenCacheRows {
  /**
   * Inserts rows in one multi-row INSERT … ON CONFLICT … RETURNING and returns the keys of the rows
   * inserted. On a conflict the stored row is kept (`keep`) or replaced (`replace`); which one is
   * chosen once, by the inserter (see `inserter`).
   */
  inserter(onConflict: 'keep' | 'replace'): (rows: readonly TokenCacheRow[]) => Promise<Set<string>>;
  /** The stored row for `cacheKey`, if any. */
  read(cacheKey: string): Promise<Pick<TokenCacheRow, 'token_sealed' | 'issued_at' | 'expires_at'> | undefined>;
  /** Replaces a row only if it still expires at `expectedExpiresAt` (compare-and-swap); true when it did. */
  replaceIfUnchanged(cacheKey: string, values: Pick<TokenCacheRow, 'token_sealed' | 'issued_at' | 'expires_at'>, expectedExpiresAt: number): Promise<boolean>;
  /** The keys of rows that expire after `now`. */
  liveKeys(now: number): Promise<string[]>;
  /** Deletes rows that expired before `now`. */
  deleteExpired(now: number): Promise<void>;
}

/** The token-cache table of `database` (SQLite or PostgreSQL, same statements). */
export function createTokenCacheRows(database: Database): TokenCacheRows {
  const { db } = database;
  return {
    inserter(onConflict) {
      // Compiled once per batch size (storage/multi-row-insert.ts): the hot part of a mint's write.
      const statement = new MultiRowInsert(db, 'token_cache', TOKEN_CACHE_COLUMNS, (query) =>
        query
          .onConflict((oc) =>
            onConflict === 'keep'
              ? oc.column('cache_key').doNothing()
              : oc
                  .column('cache_key')
                  .doUpdateSet((eb) => ({ token_sealed: eb.ref('excluded.token_sealed'), issued_at: eb.ref('excluded.issued_at'), expires_at: eb.ref('excluded.expires_at') })),
          )
          .returning('cache_key'),
      );
      return async (rows) => {
        const { rows: inserted } = await db.executeQuery<{ cache_key: string }>(statement.compile(rows));
        return new Set(inserted.map((r) => r.cache_key));
      };
    },
    read: (cacheKey) => db.selectFrom('token_cache').select(['token_sealed', 'issued_at', 'expires_at']).where('cache_key', '=', cacheKey).executeTakeFirst(),
    async replaceIfUnchanged(cacheKey, values, expectedExpiresAt) {
      const updated = await db.updateTable('token_cache').set(values).where('cache_key', '=', cacheKey).where('expires_at', '=', expectedExpiresAt).executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    },
    async liveKeys(now) {
      const rows = await db.selectFrom('token_cache').select('cache_key').where('expires_at', '>', now).execute();
      return rows.map((row) => row.cache_key);
    },
    async deleteExpired(now) {
      await db.deleteFrom('token_cache').where('expires_at', '<', now).execute();
    },
  };
}
