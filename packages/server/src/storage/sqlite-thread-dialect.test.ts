import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Database } from './database.ts';

describe('SQLite on its own thread (serving processes)', () => {
  const opened: Database[] = [];
  const dirs: string[] = [];
  const open = async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-thread-'));
    dirs.push(dir);
    const file = path.join(dir, 'latchkey.db');
    const database = await openDatabase(`sqlite:${file}`, { sqliteOnThread: true });
    opened.push(database);
    return { database, file };
  };

  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('migrates, reads and writes like the in-thread driver, with affected-row counts and insert ids', async () => {
    const { database } = await open();
    await sql`create table t (id integer primary key autoincrement, name text unique, data blob)`.execute(database.db);
    const inserted = await sql`insert into t (name, data) values (${'a'}, ${Buffer.from([1, 2, 3])})`.execute(database.db);
    expect(inserted.insertId).toBe(1n);
    expect(inserted.numAffectedRows).toBe(1n);
    const rows = await sql<{ name: string; data: Buffer }>`select name, data from t`.execute(database.db);
    expect(rows.rows[0]!.name).toBe('a');
    // BLOBs come back as Buffers, as better-sqlite3 returns them.
    expect(Buffer.isBuffer(rows.rows[0]!.data)).toBe(true);
    expect([...rows.rows[0]!.data]).toEqual([1, 2, 3]);
    // The schema the server runs on is there (migrations ran through the thread).
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'token_cache'`.execute(database.db);
    expect(tables.rows).toHaveLength(1);
  });

  it('keeps SQLite error codes and rolls a failed transaction back', async () => {
    const { database } = await open();
    await sql`create table t (name text unique)`.execute(database.db);
    await sql`insert into t values ('a')`.execute(database.db);
    const failure = await database.db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into t values ('b')`.execute(trx);
        await sql`insert into t values ('a')`.execute(trx);
      })
      .catch((error: unknown) => error as Error & { code?: string });
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    const rows = await sql<{ name: string }>`select name from t order by name`.execute(database.db);
    expect(rows.rows.map((r) => r.name)).toEqual(['a']);
  });

  it('runs concurrent transactions one after another on its one connection', async () => {
    const { database } = await open();
    await sql`create table counter (n integer)`.execute(database.db);
    await sql`insert into counter values (0)`.execute(database.db);
    // Read-then-write in each: interleaving would lose increments.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        database.db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ n: number }>`select n from counter`.execute(trx);
          await sql`update counter set n = ${rows[0]!.n + 1}`.execute(trx);
        }),
      ),
    );
    const { rows } = await sql<{ n: number }>`select n from counter`.execute(database.db);
    expect(rows[0]!.n).toBe(20);
  });

  it('checkpoints the write-ahead log from its own thread, without the writer doing it', async () => {
    const { database, file } = await open();
    await sql`create table t (data text)`.execute(database.db);
    const sizeBefore = fs.statSync(file).size;
    // About 2 MB: far below the writer's own backstop (10,000 pages), so only the checkpointer
    // copies these pages into the database file.
    for (let i = 0; i < 20; i++) {
      await database.db.transaction().execute(async (trx) => {
        for (let j = 0; j < 25; j++) await sql`insert into t values (${'x'.repeat(4000)})`.execute(trx);
      });
    }
    const deadline = Date.now() + 5000;
    while (fs.statSync(file).size < sizeBefore + 1_500_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(file).size).toBeGreaterThan(sizeBefore + 1_500_000);
  });
});
