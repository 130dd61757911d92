import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases.ts';
import { openDatabase, type Database } from '../packages/server/src/storage/database.ts';

const require = createRequire(import.meta.url);

// The CLI and a running server write one SQLite file. A transaction that reads and then writes must
// wait for the other process's write lock instead of failing at once with "database is locked"
// (what deferred BEGIN does when the lock cannot be upgraded); storage/database.ts begins IMMEDIATE.

describe('SQLite transactions while another process writes', () => {
  let file: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    file = createSqliteDatabase();
    database = await openDatabase(file.url);
  });
  afterAll(async () => {
    await database?.close();
    await file?.drop();
  });

  it('never fails a read-then-write transaction with database is locked', async () => {
    const path = file.url.slice('sqlite:'.length);
    const writer = spawn(process.execPath, [
      '-e',
      `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))}); const d = new D(${JSON.stringify(path)}); d.pragma('busy_timeout = 5000');
       const s = d.prepare("insert into settings(name, value) values (?, 'x') on conflict(name) do update set value = 'y'");
       const end = Date.now() + 2500; let n = 0; while (Date.now() < end) s.run('other' + (n++ % 20));`,
    ]);
    const exited = new Promise((resolve) => writer.on('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    let failures = 0;
    for (let i = 0; i < 200; i++) {
      try {
        await database.db.transaction().execute(async (trx) => {
          await trx.selectFrom('settings').selectAll().limit(1).execute();
          await new Promise((resolve) => setTimeout(resolve, 1));
          await trx.insertInto('settings').values({ name: `mine${i}`, value: 'v' }).execute();
        });
      } catch {
        failures++;
      }
    }
    await exited;
    expect(failures).toBe(0);
  });
});
