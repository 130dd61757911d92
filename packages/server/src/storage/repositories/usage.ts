import { sql, type Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { Schema } from '../schema.ts';

// Token usage per integration and UTC day (table usage_daily), and the last-used times of
// integrations and their secrets, as platform/usage-recorder.ts flushes them.

/** Rows per statement (well under SQLite's bound-parameter limit). */
const WRITE_CHUNK = 200;

/** One integration's counts for one day, added to what is stored. */
export interface UsageCounts {
  integrationId: string;
  day: string;
  minted: number;
  cached: number;
  failures: number;
}

/** When an integration was last used, and with which secret generation (if known). */
export type LastUse = readonly [integrationId: string, used: { at: number; generation: number | undefined }];

/**
 * Adds the counts and writes the last-used times in one transaction (all or nothing, so a failed
 * flush can be retried without counting twice), a few statements whatever the number of
 * integrations: the write holds the database connection, and token mints wait for it. Lock order:
 * integrations before their secrets, as every writer takes it. Counts of an integration deleted
 * meanwhile are dropped: usage_daily rows go with their integration (ON DELETE CASCADE).
 */
export async function writeUsage(database: Database, counts: readonly UsageCounts[], lastUsed: readonly LastUse[]): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    for (let i = 0; i < counts.length; i += WRITE_CHUNK) {
      const chunk = await onlyExisting(trx, counts.slice(i, i + WRITE_CHUNK));
      if (chunk.length === 0) continue;
      await trx
        .insertInto('usage_daily')
        .values(chunk.map((c) => ({ integration_id: c.integrationId, day: c.day, tokens_minted: c.minted, tokens_cached: c.cached, failures: c.failures })))
        .onConflict((oc) =>
          oc.columns(['integration_id', 'day']).doUpdateSet({
            tokens_minted: sql`usage_daily.tokens_minted + excluded.tokens_minted`,
            tokens_cached: sql`usage_daily.tokens_cached + excluded.tokens_cached`,
            failures: sql`usage_daily.failures + excluded.failures`,
          }),
        )
        .execute();
    }
    for (let i = 0; i < lastUsed.length; i += WRITE_CHUNK) {
      const chunk = lastUsed.slice(i, i + WRITE_CHUNK);
      // Each row its own time: CASE over the chunk, cast so PostgreSQL types the parameters.
      const lastUsedAt = (key: 'id' | 'integration_id') =>
        sql<number>`case ${sql.ref(key)} ${sql.join(chunk.map(([id, { at }]) => sql`when ${id} then cast(${at} as bigint)`), sql` `)} end`;
      await trx.updateTable('integrations').set({ last_used_at: lastUsedAt('id') }).where('id', 'in', chunk.map(([id]) => id)).execute();
      const withGeneration = chunk.filter(([, used]) => used.generation !== undefined);
      if (withGeneration.length === 0) continue;
      await trx
        .updateTable('integration_secrets')
        .set({ last_used_at: lastUsedAt('integration_id') })
        .where(({ eb, or, and }) => or(withGeneration.map(([id, used]) => and([eb('integration_id', '=', id), eb('generation', '=', used.generation!)]))))
        .execute();
    }
  });
}

/**
 * The counts whose integration still exists. An integration deleted after a token request and before
 * the flush would otherwise fail the insert (foreign key). On PostgreSQL a deletion committing
 * between this read and the insert still fails this flush; the counts are kept and the next flush
 * drops them here.
 */
async function onlyExisting(trx: Kysely<Schema>, counts: readonly UsageCounts[]): Promise<readonly UsageCounts[]> {
  const ids = [...new Set(counts.map((c) => c.integrationId))];
  const existing = await trx.selectFrom('integrations').select('id').where('id', 'in', ids).execute();
  if (existing.length === ids.length) return counts;
  const live = new Set(existing.map((row) => row.id));
  return counts.filter((c) => live.has(c.integrationId));
}

/** Tokens issued per day for one integration since `sinceDay` (YYYY-MM-DD), oldest first. */
export async function readUsage(database: Database, integrationId: string, sinceDay: string) {
  const rows = await database.db.selectFrom('usage_daily').selectAll().where('integration_id', '=', integrationId).where('day', '>=', sinceDay).orderBy('day').execute();
  return rows.map((r) => ({ day: r.day, tokensMinted: r.tokens_minted, tokensCached: r.tokens_cached, failures: r.failures }));
}
