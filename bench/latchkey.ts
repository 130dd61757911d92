/**
 * Latchkey under test: a fresh SQLite data directory, one environment, integrations with every
 * Environment API scope, then `latchkey serve`. Scenario (b) repeats one token request (the server
 * answers from its token cache); scenario (c) sends a different (integration, scope set) each time
 * so every request mints and signs a new token.
 */
import { randomInt } from 'node:crypto';
import { join, resolve } from 'node:path';
import { accessTokenOf, expectOk, tokenRequest } from './http.ts';
import { freePort, runCommand, startServer, stopServer, waitForHttp, type ServerProcess } from './processes.ts';
import type { HttpRequest, LoadTarget, Scenario } from './scenario.ts';

/** The Environment API's scope catalogue (design §6); preset "all" grants every one. */
export const ENVIRONMENT_API_SCOPES = [
  'templates:read', 'templates:write', 'projects:read', 'projects:write',
  'media:read', 'media:write', 'fonts:read', 'fonts:write',
] as const;

const CACHED_BODY = 'grant_type=client_credentials&scope=templates%3Aread%20templates%3Awrite';
/** Requests set aside from (c) to prove, before the load, that distinct keys get distinct tokens. */
const MINT_SAMPLE = 20;

/** Client credentials of one integration. */
export interface Client {
  clientId: string;
  clientSecret: string;
}

export interface LatchkeyOptions {
  repoRoot: string;
  workDir: string;
  /** How many integrations to seed for scenario (c); each gives 255 distinct scope sets. */
  integrations: number;
  log: (line: string) => void;
}

/** A running Latchkey with the requests the scenarios send. */
export interface LatchkeyTarget {
  tokenUrl: string;
  cached: HttpRequest;
  /** Shuffled distinct (integration, scope set) requests, sample already removed. */
  mints: HttpRequest[];
  /** Integrations seeded for (c). */
  integrations: number;
  /** The server's process id (it leads its own process group). */
  pid: number | undefined;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** Path of the CLI, relative to the repository root. */
export const LATCHKEY_BIN = 'packages/server/bin/latchkey.js';

/** The credentials in `integrations create --json`: `{ integration: { clientId }, clientSecret }`, the Platform API's shape. */
function findCredentials(value: unknown): Client | undefined {
  const created = value as { integration?: { clientId?: unknown }; clientSecret?: unknown } | null;
  const clientId = created?.integration?.clientId;
  const clientSecret = created?.clientSecret;
  return typeof clientId === 'string' && typeof clientSecret === 'string' ? { clientId, clientSecret } : undefined;
}

/** Every non-empty subset of the scope catalogue, form-encoded as a token request body. */
export function scopeSubsetBodies(): string[] {
  const bodies: string[] = [];
  for (let mask = 1; mask < 1 << ENVIRONMENT_API_SCOPES.length; mask++) {
    const scopes = ENVIRONMENT_API_SCOPES.filter((_, i) => (mask >> i) & 1);
    bodies.push(`grant_type=client_credentials&scope=${encodeURIComponent(scopes.join(' '))}`);
  }
  return bodies;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** The configuration every Latchkey process of the run shares (CLI and server). */
export function latchkeyEnv(workDir: string, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LATCHKEY_DATABASE_URL: `sqlite:${join(workDir, 'latchkey', 'latchkey.db')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_ADMIN_PASSWORD: 'bench-password-123',
    LATCHKEY_LOG_LEVEL: 'warn',
  };
}

export async function cli(options: Pick<LatchkeyOptions, 'repoRoot'>, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const { stdout } = await runCommand(process.execPath, [LATCHKEY_BIN, ...args], { cwd: options.repoRoot, env });
  return stdout;
}

async function createIntegrationWithCli(options: LatchkeyOptions, env: NodeJS.ProcessEnv, name: string): Promise<Client> {
  const out = await cli(options, env, ['integrations', 'create', '--env', 'bench', '--name', name, '--preset', 'all', '--json']);
  const client = findCredentials(JSON.parse(out));
  if (!client) throw new Error(`latchkey integrations create printed no Client ID / Client Secret: ${out.slice(0, 300)}`);
  return client;
}

/**
 * Seeds `count` integrations with preset "all": in this process when the server's modules load,
 * otherwise through the CLI, which costs a Node start-up per call and so is bounded to 60 s.
 */
async function seedIntegrations(options: LatchkeyOptions, env: NodeJS.ProcessEnv, count: number): Promise<Client[]> {
  try {
    const { seedIntegrationsInProcess } = await import('./seed-integrations.ts');
    return await seedIntegrationsInProcess(env, 'bench', count, { 'environment-api': [...ENVIRONMENT_API_SCOPES] });
  } catch (err) {
    options.log(`in-process seeding failed (${(err as Error).message.split('\n')[0]}); falling back to the CLI`);
  }
  const clients: Client[] = [];
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < count && Date.now() < deadline; i++) clients.push(await createIntegrationWithCli(options, env, `bench-${i + 1}`));
  if (clients.length < count) options.log(`seeded only ${clients.length} of ${count} integrations via the CLI in 60 s`);
  return clients;
}

/** Starts `latchkey serve` on `port` with `env` and waits until it answers. */
export async function serveLatchkey(options: Pick<LatchkeyOptions, 'repoRoot'>, env: NodeJS.ProcessEnv, port: number): Promise<{ server: ServerProcess; tokenUrl: string }> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server (on its graceful exit) for tuning.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROF)}`] : [];
  const server = startServer('latchkey', process.execPath, [...profile, LATCHKEY_BIN, 'serve'], { cwd: options.repoRoot, env });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(server, `${base}/.well-known/jwks.json`, 30_000, 200);
  return { server, tokenUrl: `${base}/oauth/token` };
}

/** Sets up the data directory, seeds, starts `latchkey serve` and checks caching and minting. */
export async function startLatchkey(options: LatchkeyOptions): Promise<LatchkeyTarget> {
  const port = await freePort();
  const env = latchkeyEnv(options.workDir, port);
  const t0 = Date.now();
  await cli(options, env, ['environments', 'create', 'bench', '--json']);
  const main = await createIntegrationWithCli(options, env, 'bench');
  const seeded = await seedIntegrations(options, env, options.integrations);
  options.log(`seeded ${seeded.length + 1} integrations in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const { server, tokenUrl } = await serveLatchkey(options, env, port);

  // (b) must really be served from the cache: the same request twice gives the same token.
  const cached = tokenRequest(main.clientId, main.clientSecret, CACHED_BODY);
  const target: LoadTarget = { url: tokenUrl, method: 'POST', requests: [cached] };
  const first = accessTokenOf(await expectOk('latchkey cached', target, cached));
  const second = accessTokenOf(await expectOk('latchkey cached', target, cached));
  if (first !== second) throw new Error('latchkey: two identical token requests got different tokens; (b) would not measure the cache');

  // (c) every (integration, scope set) is a distinct cache key, so its first request mints.
  const bodies = scopeSubsetBodies();
  const mints = shuffle(seeded.flatMap((c) => bodies.map((body) => tokenRequest(c.clientId, c.clientSecret, body))));
  const sample = mints.splice(0, MINT_SAMPLE);
  const sampleTokens: string[] = [];
  for (const request of sample) {
    const body = JSON.parse(await expectOk('latchkey minting', { ...target, requests: [request] }, request)) as { access_token: string; scope: string };
    const asked = new URLSearchParams(request.body).get('scope');
    if (body.scope !== asked) throw new Error(`latchkey: asked for scope '${asked}', got '${body.scope}'`);
    sampleTokens.push(body.access_token);
  }
  const distinct = new Set(sampleTokens).size;
  if (distinct !== sample.length) throw new Error(`latchkey: ${sample.length} distinct keys gave only ${distinct} distinct tokens`);
  const again = accessTokenOf(await expectOk('latchkey minting', { ...target, requests: [sample[0]!] }, sample[0]!));
  if (again !== sampleTokens[0]) throw new Error('latchkey: a repeated key did not return its cached token');
  options.log(`latchkey: cache verified; ${sample.length} sampled keys gave ${distinct} distinct tokens; ${mints.length} distinct keys left for (c)`);
  return { tokenUrl, cached, mints, integrations: seeded.length, pid: server.child.pid, stop: () => stopServer(server) };
}

/** Scenario (b): the same token request every time — served from Latchkey's token cache. */
export function latchkeyCachedScenario(start: () => Promise<LatchkeyTarget>): Scenario {
  let lk: LatchkeyTarget | undefined;
  return {
    key: 'b',
    name: 'Latchkey, cached token',
    async stop() {
      await lk?.stop();
    },
    async prepare() {
      lk = await start();
      return { url: lk.tokenUrl, method: 'POST', requests: [lk.cached], serverPid: lk.pid };
    },
    afterRun: () => ({ notes: ['checked before the run: two identical requests got the same token'] }),
  };
}

/** Scenario (c): a distinct (integration, scope set) on every request — Latchkey mints each token. */
export function latchkeyMintingScenario(start: () => Promise<LatchkeyTarget>): Scenario {
  let lk: LatchkeyTarget | undefined;
  return {
    key: 'c',
    name: 'Latchkey, new token every request',
    async stop() {
      await lk?.stop();
    },
    async prepare() {
      lk = await start();
      return { url: lk.tokenUrl, method: 'POST', requests: lk.mints, serverPid: lk.pid };
    },
    async afterRun(result) {
      const d = result.distinct;
      if (!d || !lk) return {};
      const notes = [
        `${lk.integrations} integrations × ${(1 << ENVIRONMENT_API_SCOPES.length) - 1} scope sets = ${(lk.mints.length + MINT_SAMPLE).toLocaleString('en-US')} distinct cache keys; checked before the run: ${MINT_SAMPLE} of them got ${MINT_SAMPLE} different tokens, and repeating one got its cached token`,
        `${d.issued.toLocaleString('en-US')} requests issued (${result.requests.toLocaleString('en-US')} completed) over ${d.available.toLocaleString('en-US')} distinct keys left for the measured run (after the warm-up)`,
      ];
      const wrapped = d.wrapped || d.issued > d.available;
      return {
        notes,
        warnings: wrapped ? ['the run outlasted the distinct keys (wrapped around), so some requests were cache hits, not mints: raise BENCH_INTEGRATIONS'] : [],
      };
    },
  };
}
