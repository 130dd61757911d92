import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the test PostgreSQL server is; CI and these machines run one on 127.0.0.1:5432 with trust auth. */
export const POSTGRES_ADMIN_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database a test suite owns: a URL to give Latchkey, and a way to throw it away. */
export interface TestDatabase {
  dialect: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

/** Each suite runs over both dialects, as Kysely's own tests do. */
export const DIALECTS = ['sqlite', 'postgres'] as const;

/** A fresh SQLite file in a temp directory. */
export function createSqliteDatabase(): TestDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-test-'));
  return {
    dialect: 'sqlite',
    url: `sqlite:${path.join(dir, 'latchkey.db')}`,
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A uniquely named PostgreSQL database, created now and dropped by drop(). */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `latchkey_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    dialect: 'postgres',
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A fresh database of the given dialect. */
export async function createTestDatabase(dialect: (typeof DIALECTS)[number]): Promise<TestDatabase> {
  return dialect === 'sqlite' ? createSqliteDatabase() : createPostgresDatabase();
}
