// Issue 14, point 1: the SQLite database and its -wal and -shm files are created mode 0600, like
// the master key, whatever the process umask. (SQLite only: PostgreSQL keeps its own files.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../packages/server/src/storage/database.ts';
import { runCli } from './support/cli.ts';

const modeOf = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe('SQLite files', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-files-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const onThread of [false, true]) {
    it(`creates the database, -wal and -shm 0600 even under umask 000 (${onThread ? 'on its own thread, as a server' : 'in-thread, as the CLI'})`, async () => {
      const file = path.join(freshDir(), 'nested', 'latchkey.db');
      const umask = process.umask(0);
      try {
        const database = await openDatabase(`sqlite:${file}`, { sqliteOnThread: onThread });
        try {
          await database.db.insertInto('settings').values({ name: 'probe', value: 'x' }).execute();
          for (const name of [file, `${file}-wal`, `${file}-shm`]) expect(modeOf(name), path.basename(name)).toBe('600');
        } finally {
          await database.close();
        }
      } finally {
        process.umask(umask);
      }
    });
  }

  it('`latchkey` on a fresh data directory leaves the database and the master key 0600', async () => {
    const dir = freshDir();
    const result = await runCli(['environments', 'create', 'files'], { LATCHKEY_DATABASE_URL: `sqlite:${path.join(dir, 'latchkey.db')}`, LATCHKEY_DATA_DIR: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(modeOf(path.join(dir, 'latchkey.db'))).toBe('600');
    expect(modeOf(path.join(dir, 'master.key'))).toBe('600');
  });
});
