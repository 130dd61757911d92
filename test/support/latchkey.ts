import { randomBytes } from 'node:crypto';
import { freePort as findFreePort } from '../../bench/processes.ts';
import { Writable } from 'node:stream';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { loadConfig, type Config } from '../../packages/server/src/config/load-config.ts';
import { openDatabase, type Database } from '../../packages/server/src/storage/database.ts';
import { createManualClock, systemClock, type Clock, type ManualClock } from '../../packages/server/src/support/clock.ts';
import { createLogger } from '../../packages/server/src/support/logger.ts';
import { startServer, type RunningServer } from '../../packages/server/src/server.ts';
import { createEnvironment } from '../../packages/server/src/platform/environments.ts';
import { createIntegration, type Grants, type IntegrationWithSecret } from '../../packages/server/src/platform/integrations.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';
import type { ActionContext } from '../../packages/server/src/platform/audit.ts';

/** Everything a test gets: a real server listening on loopback over a real database. */
export interface TestLatchkey {
  server: RunningServer;
  url: string;
  config: Config;
  database: Database;
  testDatabase: TestDatabase;
  clock: Clock;
  /** Every log line the server wrote, for asserting that no secret is ever logged. */
  logs: string[];
  /** With `recordQueries`: every statement the server ran, as `<kind> <tables>` (e.g. `SelectQueryNode integrations`). */
  queries: string[];
  createIntegration(input?: { environmentId?: string; name?: string; grants?: Grants }): Promise<IntegrationWithSecret>;
  createEnvironment(id: string): Promise<void>;
  /** Posts a form body to /oauth/token. */
  postToken(params: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** Options for a test server. */
export interface TestLatchkeyOptions {
  dialect: 'sqlite' | 'postgres';
  env?: Record<string, string>;
  /** A manual clock to move time in tests; defaults to the real clock. */
  clock?: ManualClock;
  /** Reuse an existing database (e.g. several instances over one PostgreSQL database). */
  testDatabase?: TestDatabase;
  /** Record the kind and tables of every statement the server runs (TestLatchkey.queries). */
  recordQueries?: boolean;
}

/** The names of the tables a query node refers to, in order of appearance. */
function tablesOf(node: unknown, found: string[] = []): string[] {
  if (node === null || typeof node !== 'object') return found;
  const candidate = node as { kind?: string; table?: { identifier?: { name?: string } } };
  if (candidate.kind === 'TableNode' && candidate.table?.identifier?.name) found.push(candidate.table.identifier.name);
  for (const value of Object.values(node)) tablesOf(value, found);
  return found;
}

/** Writes down each statement as it is compiled: what the database is asked, seen from outside the server's code. */
class QueryRecorder implements KyselyPlugin {
  constructor(private readonly queries: string[]) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.queries.push(`${args.node.kind} ${[...new Set(tablesOf(args.node))].join(',')}`);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** Starts Latchkey on a random loopback port over a fresh database of `dialect`, with a `demo` environment. */
export async function startTestLatchkey(options: TestLatchkeyOptions): Promise<TestLatchkey> {
  const testDatabase = options.testDatabase ?? (await createTestDatabase(options.dialect));
  // The issuer must be the real URL for discovery-based clients (openid-client checks it), so the
  // port is chosen before the server starts.
  const port = await findFreePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_ISSUER: `http://127.0.0.1:${port}`,
    LATCHKEY_DATABASE_URL: testDatabase.url,
    LATCHKEY_MASTER_KEY: TEST_MASTER_KEY,
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_CHANGE_POLL_MS: '100',
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const queries: string[] = [];
  const opened = await openDatabase(config.databaseUrl);
  const database: Database = options.recordQueries === true ? { ...opened, db: opened.db.withPlugin(new QueryRecorder(queries)) } : opened;
  const clock = options.clock ?? systemClock;
  const server = await startServer({ config, logger, clock, database });
  const platform = server.runtime.platform;
  if (!options.testDatabase) await createEnvironment(platform, { id: 'demo' }, TEST_CONTEXT);
  return {
    server,
    url: server.url,
    config,
    database,
    testDatabase,
    clock,
    logs,
    queries,
    createIntegration: (input = {}) =>
      createIntegration(platform, {
        environmentId: input.environmentId ?? 'demo',
        name: input.name ?? 'test integration',
        grants: input.grants ?? { 'environment-api': platform.apis.presetScopes('all') },
      }, TEST_CONTEXT),
    createEnvironment: async (id) => {
      await createEnvironment(platform, { id }, TEST_CONTEXT);
    },
    postToken: (params, headers = {}) =>
      fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(params).toString(),
      }),
    async close() {
      await server.close();
      await database.close();
      if (!options.testDatabase) await testDatabase.drop();
    },
  };
}

/** The audit actor of changes tests make directly through the domain functions. */
export const TEST_CONTEXT: ActionContext = { actor: { type: 'system', id: 'test' } };

/** A fixed master key for tests (never used outside them). */
export const TEST_MASTER_KEY = randomBytes(32).toString('base64url');

/** `Authorization: Basic` per RFC 6749 §2.3.1: form-urlencode id and secret, join with ':', base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

export { createManualClock };

/** A TCP port that was free a moment ago on 127.0.0.1 (the one probe the tooling shares). */
export { findFreePort };
