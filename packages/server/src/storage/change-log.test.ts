import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../../../test/support/databases.ts';
import { openDatabase, type Database } from './database.ts';
import { ChangeBus, readChangesAfter, latestChangeSeq, writeWithChanges, type ChangeNotice } from './change-log.ts';

/** An error as node-postgres reports a deadlock victim. */
const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });

describe.each(DIALECTS)('writeWithChanges (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;
  const heard: ChangeNotice[][] = [];
  const changes = new ChangeBus();
  changes.subscribe((notices) => {
    heard.push([...notices]);
  });

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url);
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('runs a transaction chosen as a deadlock victim again, and publishes its changes once', async () => {
    const before = await latestChangeSeq(database);
    heard.length = 0;
    let attempts = 0;
    const result = await writeWithChanges({ database, changes }, Date.now(), async (_trx, log) => {
      attempts++;
      await log.change('integration', 'lkc_retried');
      if (attempts === 1) throw deadlock();
      return 'written';
    });
    expect(result).toBe('written');
    expect(attempts).toBe(2);
    expect((await readChangesAfter(database, before)).map((change) => change.subject)).toEqual(['lkc_retried']);
    expect(heard).toEqual([[{ kind: 'integration', subject: 'lkc_retried' }]]);
  });

  it('gives up after three attempts, and never retries other errors; nothing is written or published', async () => {
    const before = await latestChangeSeq(database);
    heard.length = 0;
    let attempts = 0;
    await expect(
      writeWithChanges({ database, changes }, Date.now(), async (_trx, log) => {
        attempts++;
        await log.change('integration', 'lkc_deadlocked');
        throw deadlock();
      }),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(attempts).toBe(3);
    attempts = 0;
    await expect(
      writeWithChanges({ database, changes }, Date.now(), async (_trx, log) => {
        attempts++;
        await log.change('integration', 'lkc_broken');
        throw new Error('a bug');
      }),
    ).rejects.toThrow('a bug');
    expect(attempts).toBe(1);
    expect(await readChangesAfter(database, before)).toEqual([]);
    expect(heard).toEqual([]);
  });
});
