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
    const [row] = await readChangesAfter(database, before);
    expect(heard).toEqual([[{ kind: 'integration', subject: 'lkc_retried', seq: row!.seq }]]);
  });

  it('a change made here is told once: at commit, and not again when the feed brings it back; others come from the feed', async () => {
    const before = await latestChangeSeq(database);
    heard.length = 0;
    await writeWithChanges({ database, changes }, Date.now(), (_trx, log) => log.change('integration', 'lkc_made_here'));
    // Another process's write: in the feed, never published here.
    await writeWithChanges({ database }, Date.now(), (_trx, log) => log.change('integration', 'lkc_made_elsewhere'));
    const feed = await readChangesAfter(database, before);
    expect(feed.map((change) => change.subject)).toEqual(['lkc_made_here', 'lkc_made_elsewhere']);
    await changes.publishFromFeed(feed);
    expect(heard.map((batch) => batch.map((notice) => notice.subject))).toEqual([['lkc_made_here'], ['lkc_made_elsewhere']]);
    // Read again (a second poll, or a restarted watcher), nothing is skipped any more.
    heard.length = 0;
    await changes.publishFromFeed(feed);
    expect(heard.map((batch) => batch.map((notice) => notice.subject))).toEqual([['lkc_made_here', 'lkc_made_elsewhere']]);
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
