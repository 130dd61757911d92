import type { Kysely } from 'kysely';
import type { Schema } from '../schema.ts';

// Media and font bytes in the database (table `blobs`), for environment-api/blob-store.ts's
// database BlobStore. Keys are checked by the caller.

/** Stores `data` under `key`, replacing what is there. */
export async function putBlob(db: Kysely<Schema>, key: string, data: Buffer, contentType: string, at: number): Promise<void> {
  await db
    .insertInto('blobs')
    .values({ key, content_type: contentType, data, created_at: at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ content_type: contentType, data, created_at: at }))
    .execute();
}

/** The bytes under `key`, or null. */
export async function readBlob(db: Kysely<Schema>, key: string): Promise<Buffer | null> {
  const row = await db.selectFrom('blobs').select('data').where('key', '=', key).executeTakeFirst();
  return row ? Buffer.from(row.data) : null;
}

/** Removes `key` (a missing key is no error). */
export async function deleteBlob(db: Kysely<Schema>, key: string): Promise<void> {
  await db.deleteFrom('blobs').where('key', '=', key).execute();
}

/** Removes every key under `prefix/`. */
export async function deleteBlobsUnder(db: Kysely<Schema>, prefix: string): Promise<void> {
  // Every key under `prefix/` sorts in [`prefix/`, `prefix0`): '0' follows '/' in ASCII. A range on
  // the primary key, and exact, where LIKE would read '_' in an environment id as a wildcard.
  await db.deleteFrom('blobs').where('key', '>=', `${prefix}/`).where('key', '<', `${prefix}0`).execute();
}
