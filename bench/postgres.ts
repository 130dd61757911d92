/**
 * Scratch PostgreSQL databases for the benchmark's PostgreSQL set-ups: a uniquely named database
 * created on a server whose user may create databases, and dropped (connections and all) afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server these machines run for tests and benchmarks (127.0.0.1:5432, user postgres, trust auth). */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of this run: its URL, and how to throw it away. */
export interface ScratchDatabase {
  name: string;
  url: string;
  /** Drops the database, ending any connection still open to it (a server the run left up). */
  drop(): Promise<void>;
}

async function execute(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Creates `<prefix>_<time>_<random>` on the server of `adminUrl` and returns its URL. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await execute(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => execute(adminUrl, `drop database if exists ${name} with (force)`) };
}
