import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Database } from '../storage/database.ts';
import { deleteBlob, deleteBlobsUnder, putBlob, readBlob } from '../storage/repositories/blobs.ts';

/**
 * Where the bytes of media and fonts live. Keys are `/`-separated paths of safe segments
 * (`<environment>/<kind>/<asset id>`); an object store (S3, GCS, Azure Blob) implements the same
 * three calls with the key as the object name.
 */
export interface BlobStore {
  /** Stores `data` under `key`, replacing anything there; readers never see a partial write. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** A stream of the bytes under `key`, or null when there is nothing. */
  get(key: string): Promise<Readable | null>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every key under `prefix/` (a deleted environment's uploads); none is not an error. */
  deletePrefix(prefix: string): Promise<void>;
}

// Lower-case ids and environment ids only: nothing that could climb out of the root.
const SEGMENT = /^[a-z0-9][a-z0-9_-]{0,127}$/;

/** Checks a blob key: 1-8 safe segments joined by `/`. */
export function validateBlobKey(key: string): string[] {
  const segments = key.split('/');
  if (segments.length === 0 || segments.length > 8 || !segments.every((segment) => SEGMENT.test(segment))) {
    throw new TypeError(`not a valid blob key: ${JSON.stringify(key.slice(0, 200))}`);
  }
  return segments;
}

/**
 * A BlobStore on the local disk under `root` (by default `<data dir>/blobs`). Writes go to a
 * temporary file in the same directory and are renamed into place, so a crash or a concurrent
 * reader never sees half a file.
 *
 * @example
 * const blobs = createDiskBlobStore(path.join(config.dataDir, 'blobs'));
 * await blobs.put('demo/media/med_01', bytes, 'image/png');
 */
export function createDiskBlobStore(root: string): BlobStore {
  const resolvedRoot = path.resolve(root);
  const fileOf = (key: string) => path.join(resolvedRoot, ...validateBlobKey(key));

  return {
    async put(key, data) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, data, { mode: 0o600 });
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },

    async get(key) {
      const file = fileOf(key);
      try {
        // stat first: createReadStream reports a missing file only once read, too late for a 404.
        if (!(await stat(file)).isFile()) return null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      return createReadStream(file);
    },

    async delete(key) {
      await rm(fileOf(key), { force: true });
    },

    async deletePrefix(prefix) {
      await rm(fileOf(prefix), { recursive: true, force: true });
    },
  };
}

/**
 * A BlobStore in the database itself (table `blobs`): with PostgreSQL, every instance behind a load
 * balancer sees every upload, keeping the database the only shared state (design §8). Media and fonts
 * are small (10 MiB / 5 MiB at most), which a bytea column holds comfortably.
 */
export function createDatabaseBlobStore(database: Database, now: () => number = Date.now): BlobStore {
  return {
    async put(key, data, contentType) {
      validateBlobKey(key);
      await putBlob(database.db, key, data, contentType, now());
    },

    async get(key) {
      validateBlobKey(key);
      const data = await readBlob(database.db, key);
      return data ? Readable.from([data]) : null;
    },

    async delete(key) {
      validateBlobKey(key);
      await deleteBlob(database.db, key);
    },

    async deletePrefix(prefix) {
      validateBlobKey(prefix);
      await deleteBlobsUnder(database.db, prefix);
    },
  };
}
