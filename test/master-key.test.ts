import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { runCli } from './support/cli.ts';
import { loadConfig } from '../packages/server/src/config/load-config.ts';
import { openDatabase } from '../packages/server/src/storage/database.ts';
import { createRuntime } from '../packages/server/src/runtime.ts';
import { createLogger } from '../packages/server/src/support/logger.ts';
import { systemClock } from '../packages/server/src/support/clock.ts';

describe.each(DIALECTS)('a master key that does not match the database (%s)', (dialect) => {
  let lk: TestLatchkey;
  const wrongKey = randomBytes(32).toString('base64url');
  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
  });
  afterAll(async () => lk?.close());

  it('stops the CLI with one line naming LATCHKEY_MASTER_KEY, and creates nothing', async () => {
    const result = await runCli(['integrations', 'create', '--env', 'demo', '--name', 'with the wrong key'], { LATCHKEY_DATABASE_URL: lk.testDatabase.url, LATCHKEY_MASTER_KEY: wrongKey });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('LATCHKEY_MASTER_KEY does not match');
    const rows = await lk.database.db.selectFrom('integrations').select('name').execute();
    expect(rows.map((r) => r.name)).not.toContain('with the wrong key');
  });

  it('stops a server from starting', async () => {
    const config = loadConfig({ LATCHKEY_DATABASE_URL: lk.testDatabase.url, LATCHKEY_MASTER_KEY: wrongKey });
    const database = await openDatabase(config.databaseUrl);
    try {
      await expect(createRuntime({ config, database, clock: systemClock, logger: createLogger('silent') })).rejects.toThrow(/LATCHKEY_MASTER_KEY does not match/);
    } finally {
      await database.close();
    }
  });
});
