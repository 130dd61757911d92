import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createSqliteDatabase, type TestDatabase } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { openDatabase, type Database } from '../packages/server/src/storage/database.ts';
import { ServingLease, SqliteAlreadyServed } from '../packages/server/src/storage/serving-lease.ts';
import { systemClock } from '../packages/server/src/support/clock.ts';
import { TokenCache } from '../packages/server/src/oauth/token-cache.ts';
import { createTokenCacheRows } from '../packages/server/src/storage/repositories/token-cache-rows.ts';

// One serving process per SQLite database (design §8): the serving lease, and what the token cache
// does because it holds it (answers a new token first and stores it right after).

async function tokenOf(lk: TestLatchkey, clientId: string, secret: string, scope = 'templates:read'): Promise<string> {
  const res = await lk.postToken({ grant_type: 'client_credentials', scope }, { authorization: basicAuthorization(clientId, secret) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('one server per SQLite database', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const track = <T>(value: T, cleanup: () => Promise<void>): T => {
    cleanups.push(cleanup);
    return value;
  };
  const sqliteFile = (): TestDatabase => {
    const testDatabase = createSqliteDatabase();
    return track(testDatabase, () => testDatabase.drop());
  };
  /** A server on `testDatabase` (which outlives it), with the `demo` environment created by the first one. */
  const serve = async (testDatabase: TestDatabase, first = true): Promise<TestLatchkey> => {
    const lk = await startTestLatchkey({ dialect: 'sqlite', testDatabase });
    if (first) await lk.createEnvironment('demo');
    return lk;
  };
  const open = async (testDatabase: TestDatabase): Promise<Database> => {
    const database = await openDatabase(testDatabase.url);
    return track(database, () => database.close());
  };
  /** The lease row, if any: a server that let go of the lease leaves none. */
  const leaseRows = async (testDatabase: TestDatabase) => (await open(testDatabase)).db.selectFrom('serving_lease').selectAll().execute();

  it('stops a second server on the same file with a message that says what to do, while the first keeps serving', async () => {
    const testDatabase = sqliteFile();
    const first = await serve(testDatabase);
    cleanups.push(() => first.close());
    const { integration, clientSecret } = await first.createIntegration();
    const error = await startTestLatchkey({ dialect: 'sqlite', testDatabase }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SqliteAlreadyServed);
    expect(String((error as Error).message)).toMatch(/another Latchkey server \(pid \d+ on .+\) is serving this SQLite database; stop it first\. .*--workers N.*PostgreSQL/);
    expect(await tokenOf(first, integration.clientId, clientSecret)).toMatch(/^ey/);
  });

  it('lets the next server start at once after a clean stop, and it hands out the tokens the first one answered', async () => {
    const testDatabase = sqliteFile();
    const first = await serve(testDatabase);
    const { integration, clientSecret } = await first.createIntegration();
    const tokens = [await tokenOf(first, integration.clientId, clientSecret, 'templates:read'), await tokenOf(first, integration.clientId, clientSecret, 'projects:read')];
    // Answered before stored; a clean stop writes what is still waiting.
    await first.close();
    expect(await leaseRows(testDatabase)).toEqual([]);
    const second = await serve(testDatabase, false);
    cleanups.push(() => second.close());
    expect([await tokenOf(second, integration.clientId, clientSecret, 'templates:read'), await tokenOf(second, integration.clientId, clientSecret, 'projects:read')]).toEqual(tokens);
  });

  it('lets go of the lease when it cannot start (its port is taken), so the next server need not wait', async () => {
    const testDatabase = sqliteFile();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as AddressInfo).port;
    await expect(startTestLatchkey({ dialect: 'sqlite', testDatabase, env: { PORT: String(taken) } })).rejects.toThrow(/EADDRINUSE/);
    expect(await leaseRows(testDatabase)).toEqual([]);
  });

  it('lets go of the lease when its start fails after taking it', async () => {
    const testDatabase = sqliteFile();
    await (await serve(testDatabase)).close();
    const database = await open(testDatabase);
    // A database that breaks the start after the lease is taken: no signing keys table.
    await sql`drop table signing_keys`.execute(database.db);
    await expect(startTestLatchkey({ dialect: 'sqlite', testDatabase })).rejects.toThrow(/signing_keys/);
    expect(await leaseRows(testDatabase)).toEqual([]);
  });

  it('stores a token it answered within moments, without a stop', async () => {
    const testDatabase = sqliteFile();
    const lk = await serve(testDatabase);
    cleanups.push(() => lk.close());
    const { integration, clientSecret } = await lk.createIntegration();
    await tokenOf(lk, integration.clientId, clientSecret);
    await until(async () => (await lk.database.db.selectFrom('token_cache').select('cache_key').where('integration_id', '=', integration.id).execute()).length === 1);
  });

  it('takes over the lease of a server that stopped renewing it (a crash) once it expires', async () => {
    const database = await open(sqliteFile());
    await database.db.insertInto('serving_lease').values({ name: 'serve', holder: 'pid 1 on crashed-host, 00000000', expires_at: Date.now() + 1500 }).execute();
    const started = Date.now();
    const lease = await ServingLease.acquire({ database, clock: systemClock, onLost: () => {} });
    cleanups.push(() => lease.release());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    const row = await database.db.selectFrom('serving_lease').selectAll().executeTakeFirstOrThrow();
    expect(row.holder).toMatch(new RegExp(`^pid ${process.pid} on `));
  });

  it('refuses a lease that is renewed while it waits', async () => {
    const testDatabase = sqliteFile();
    const holder = await ServingLease.acquire({ database: await open(testDatabase), clock: systemClock, onLost: () => {} });
    cleanups.push(() => holder.release());
    await expect(ServingLease.acquire({ database: await open(testDatabase), clock: systemClock, onLost: () => {}, pollMilliseconds: 100 })).rejects.toBeInstanceOf(SqliteAlreadyServed);
  });

  it('reports a lease another process took (this one stalled past it), once', async () => {
    const database = await open(sqliteFile());
    let lost = 0;
    const lease = await ServingLease.acquire({ database, clock: systemClock, onLost: () => lost++ });
    cleanups.push(() => lease.release());
    await database.db.updateTable('serving_lease').set({ holder: 'pid 2 on elsewhere, 11111111' }).execute();
    await until(async () => lost === 1, 3000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(lost).toBe(1);
    // Giving it up leaves the other holder's lease alone.
    await lease.release();
    expect((await database.db.selectFrom('serving_lease').select('holder').executeTakeFirstOrThrow()).holder).toBe('pid 2 on elsewhere, 11111111');
  });

  it('stores the rest of a batch when one row cannot be stored (its integration was just deleted)', async () => {
    const lk = await serve(sqliteFile());
    cleanups.push(() => lk.close());
    const { integration } = await lk.createIntegration();
    const errors: unknown[] = [];
    const cache = new TokenCache({ rows: createTokenCacheRows(lk.database), clock: systemClock, tokenSealKey: Buffer.alloc(32, 7), refreshWindowSeconds: 60, soleWriter: { onStoreError: (error) => errors.push(error) } });
    await cache.loadStoredKeys();
    const now = Date.now();
    const mint = (token: string) => async () => ({ token, jti: `jti-${token}`, sealed: `sealed ${token}`, issuedAt: now, expiresAt: now + 3600_000 });
    const key = (integrationId: string) => ({ integrationId, apiId: 'environment-api', scopes: ['templates:read'], grantVersion: 1, secretGeneration: 1, tokensNotBefore: 0 });
    // Minted in one turn, so both rows go in one statement; the second breaks the foreign key.
    const answers = await Promise.all([cache.getOrMint(key(integration.id), mint('kept')), cache.getOrMint(key('int_gone'), mint('orphan'))]);
    expect(answers.map((answer) => answer.token.token)).toEqual(['kept', 'orphan']);
    await cache.flush();
    const rows = await lk.database.db.selectFrom('token_cache').select(['integration_id', 'token_sealed']).execute();
    expect(rows).toEqual([{ integration_id: integration.id, token_sealed: 'sealed kept' }]);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/FOREIGN KEY/);
  });
});
