/**
 * Fault drill (issue 6, point 5): three Latchkey instances over one PRIVATE PostgreSQL cluster,
 * under load, while (a) one instance is killed with SIGKILL and (b) PostgreSQL is stopped and
 * started again. Prints a PASS/FAIL line per check and exits 1 when any check fails.
 *
 *   node --import tsx scripts/faults.ts        (npm run faults)
 *
 * Loopback only. The cluster is created here (initdb + pg_ctl, its own port, data directory and
 * socket directory in a temporary directory) and never touches the machine's shared server. Every
 * process started here is stopped at the end, also on failure, SIGINT/SIGTERM or the time limit.
 * As root, PostgreSQL runs as the `postgres` user (initdb refuses root) through `runuser`.
 *
 * Settings: FAULTS_TIMEOUT (whole run, seconds, default 200), FAULTS_PG_BIN (directory of initdb
 * and pg_ctl; default the newest /usr/lib/postgresql/<version>/bin), FAULTS_KEEP=1 (keep the
 * temporary directory with the PostgreSQL log, for inspection).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../bench/processes.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const LATCHKEY_BIN = join(REPO_ROOT, 'packages/server/bin/latchkey.js');
const ISSUER = 'http://latchkey.faults.test';
const ADMIN_EMAIL = 'faults@latchkey.test';
const ADMIN_PASSWORD = `faults-${randomBytes(12).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('base64url');
const ENVIRONMENT = 'faults';
/** The scope set of the cached token every load request asks for. */
const CACHED_SCOPE = 'templates:read';
const ENVIRONMENT_API_SCOPES = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];

/** Limits the issue sets: a request needing the database fails within this; recovery within that. */
const FAIL_FAST_MS = 3000;
const RECOVERY_MS = 10_000;
/** Per-request ceiling, so a hang shows up as a failed check instead of a stuck run. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Modest load: the machine is shared. */
const TOKEN_LOOPS = 6;
const WRITE_LOOPS = 2;

const log = (line: string): void => console.log(`[faults] ${line}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- checks

interface Check {
  name: string;
  pass: boolean;
  detail: string;
}
const checks: Check[] = [];

function check(name: string, pass: boolean, detail: string): void {
  checks.push({ name, pass, detail });
  console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
}

// ---------------------------------------------------------------- processes

interface Instance {
  index: number;
  port: number;
  url: string;
  child: ChildProcess;
  /** Last lines of its output, for failure reports. */
  tail: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
}

const instances: Instance[] = [];
let workDir = '';
let pgData = '';
let pgDir = '';
let pgBin = '';
let pgPort = 0;
let pgOptions = '';
const asPostgresUser = process.getuid?.() === 0;


function findPgBin(): string {
  if (process.env.FAULTS_PG_BIN) return process.env.FAULTS_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; set FAULTS_PG_BIN');
  return join(root, versions[0]!, 'bin');
}

/** Runs a PostgreSQL tool (as the postgres user when we are root) to completion. */
function runPg(tool: string, args: string[], timeoutMs = 60_000): Promise<string> {
  // After cleanup began only a stop may run (the cleanup's own), never a start.
  if (cleanedUp && !args.includes('stop')) return Promise.reject(new Error(`not running ${tool}: the drill is stopping`));
  const command = asPostgresUser ? 'runuser' : join(pgBin, tool);
  const argv = asPostgresUser ? ['-u', 'postgres', '--', join(pgBin, tool), ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: pgDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${tool} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out.trim().slice(-2000)}`));
    });
  });
}

async function createCluster(): Promise<void> {
  pgBin = findPgBin();
  pgDir = join(workDir, 'pg');
  pgData = join(pgDir, 'data');
  mkdirSync(pgDir);
  if (asPostgresUser) {
    // initdb refuses root: the cluster belongs to the postgres user, who must reach its directory.
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, but there is no postgres user to run the private cluster');
    chmodSync(workDir, 0o711);
    chownSync(pgDir, uid, gid);
  }
  pgPort = await freePort();
  // Only loopback TCP, and the Unix socket in our own directory (never /var/run/postgresql).
  pgOptions = `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c max_connections=80`;
  const t0 = Date.now();
  await runPg('initdb', ['-D', pgData, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  await startPostgres();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${pgPort}/postgres` });
  await admin.connect();
  await admin.query('create database latchkey');
  await admin.end();
  log(`private PostgreSQL (${pgBin}) on 127.0.0.1:${pgPort}, data ${pgData}, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const startPostgres = (): Promise<string> => runPg('pg_ctl', ['-D', pgData, '-l', join(pgDir, 'postgres.log'), '-w', '-t', '30', '-o', pgOptions, 'start']);
const stopPostgres = (mode: 'fast' | 'immediate'): Promise<string> => runPg('pg_ctl', ['-D', pgData, '-m', mode, '-w', '-t', '30', 'stop'], 40_000);

const databaseUrl = (): string => `postgres://postgres@127.0.0.1:${pgPort}/latchkey`;

/** The environment of every Latchkey process here: the parent's minus LATCHKEY_*, PORT, HOST. */
function latchkeyEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('LATCHKEY_') && name !== 'PORT' && name !== 'HOST') env[name] = value;
  return {
    ...env,
    HOST: '127.0.0.1',
    LATCHKEY_DATABASE_URL: databaseUrl(),
    LATCHKEY_MASTER_KEY: MASTER_KEY,
    LATCHKEY_ISSUER: ISSUER,
    LATCHKEY_ADMIN_EMAIL: ADMIN_EMAIL,
    LATCHKEY_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LATCHKEY_DATA_DIR: join(workDir, 'data'),
    LATCHKEY_LOG_LEVEL: 'warn',
    ...extra,
  };
}

function startInstance(index: number, port: number): Instance {
  if (cleanedUp) throw new Error('not starting an instance: the drill is stopping');
  const child = spawn(process.execPath, [LATCHKEY_BIN, 'serve'], { cwd: REPO_ROOT, env: latchkeyEnv({ PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    tail.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
    if (tail.length > 60) tail.splice(0, tail.length - 60);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const instance: Instance = {
    index,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    tail,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  void instance.exited.then((info) => (instance.exitInfo = info));
  instances[index] = instance;
  return instance;
}

async function waitReady(instance: Instance, timeoutMs = 90_000): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    if (instance.exitInfo) throw new Error(`instance ${instance.index} exited before it was ready (${instance.exitInfo.signal ?? instance.exitInfo.code}):\n${instance.tail.join('\n')}`);
    try {
      const res = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now() - t0;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(150);
  }
  throw new Error(`instance ${instance.index} not ready within ${timeoutMs} ms (${last}):\n${instance.tail.join('\n')}`);
}

function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LATCHKEY_BIN, ...args], { cwd: REPO_ROOT, env: latchkeyEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`latchkey ${args.join(' ')} → exit ${code}: ${err.trim()}`));
    });
  });
}

let cleanedUp = false;
/** Stops every process this script started and removes its temporary directory. Idempotent. */
async function cleanup(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  const alive = instances.filter((i) => i && !i.exitInfo);
  for (const instance of alive) instance.child.kill('SIGTERM');
  await Promise.race([Promise.all(alive.map((i) => i.exited)), sleep(5000)]);
  for (const instance of alive) if (!instance.exitInfo) instance.child.kill('SIGKILL');
  if (pgData && existsSync(join(pgData, 'postmaster.pid'))) {
    await stopPostgres('immediate').catch(() => killPostmasterNow());
  }
  if (workDir && process.env.FAULTS_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  else if (workDir) log(`kept ${workDir}`);
}

/** Last resort (process exit): SIGKILL the postmaster named in its pid file; its children follow it. */
function killPostmasterNow(): void {
  try {
    const pid = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    /* not running */
  }
}

process.on('exit', () => {
  if (cleanedUp) return;
  for (const instance of instances) if (instance && !instance.exitInfo) instance.child.kill('SIGKILL');
  if (pgData) killPostmasterNow();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- HTTP

function basic(clientId: string, secret: string): string {
  const encode = (text: string): string => new URLSearchParams({ v: text }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

interface Answer {
  status: number;
  body: any;
  ms: number;
  /** Set when no HTTP answer came (connection refused, reset, timeout). */
  error?: string;
}

async function request(url: string, init: RequestInit): Promise<Answer> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, ms: performance.now() - t0 };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: 0, body: null, ms: performance.now() - t0, error: cause ?? (error as Error).name };
  }
}

interface Credentials {
  clientId: string;
  clientSecret: string;
}

const tokenRequest = (instance: Instance, client: Credentials, scope: string): Promise<Answer> =>
  request(`${instance.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(client.clientId, client.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });

interface Session {
  cookie: string;
  csrfToken: string;
}

async function signIn(instance: Instance): Promise<Session> {
  const res = await fetch(`${instance.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await res.json()) as { csrfToken?: string };
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('latchkey_session='))?.split(';')[0];
  if (res.status !== 200 || !cookie || !body.csrfToken) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(body)}`);
  return { cookie, csrfToken: body.csrfToken };
}

const platformRead = (instance: Instance, session: Session): Promise<Answer> =>
  request(`${instance.url}/api/v1/environments/${ENVIRONMENT}/integrations?limit=1`, { headers: { cookie: session.cookie } });

const platformCreate = (instance: Instance, session: Session, name: string): Promise<Answer> =>
  request(`${instance.url}/api/v1/environments/${ENVIRONMENT}/integrations`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ name, preset: 'read-only' }),
  });

/** Scope sets never asked for before: each one's first request must mint (and so needs the database). */
function* freshScopeSets(): Generator<string> {
  for (let mask = 1; mask < 1 << ENVIRONMENT_API_SCOPES.length; mask++) {
    const scope = ENVIRONMENT_API_SCOPES.filter((_, i) => (mask >> i) & 1).join(' ');
    if (scope !== CACHED_SCOPE) yield scope;
  }
}

// ---------------------------------------------------------------- load

interface TokenLoadStats {
  /** Per instance index: answers received. */
  byInstance: Map<number, { ok: number; other: number; errors: number; tokens: Set<string>; statuses: Map<string, number>; lastOkAt: number }>;
}

/**
 * Cached-token load: `TOKEN_LOOPS` loops, each request to the next instance in turn. An instance a
 * loop cannot connect to is skipped from then on, as a load balancer's health check would.
 */
function startTokenLoad(targets: Instance[], client: Credentials, down: Set<number>): { stop(): Promise<TokenLoadStats> } {
  const stats: TokenLoadStats = { byInstance: new Map(targets.map((t) => [t.index, { ok: 0, other: 0, errors: 0, tokens: new Set<string>(), statuses: new Map<string, number>(), lastOkAt: 0 }])) };
  let running = true;
  let turn = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      const live = targets.filter((t) => !down.has(t.index));
      if (live.length === 0) return;
      const target = live[turn++ % live.length]!;
      const answer = await tokenRequest(target, client, CACHED_SCOPE);
      const s = stats.byInstance.get(target.index)!;
      if (answer.error) {
        s.errors++;
        s.statuses.set(answer.error, (s.statuses.get(answer.error) ?? 0) + 1);
        down.add(target.index);
      } else if (answer.status === 200) {
        s.ok++;
        s.lastOkAt = Date.now();
        s.tokens.add(String(answer.body?.access_token));
      } else {
        s.other++;
        const key = `${answer.status} ${answer.body?.error ?? ''}`.trim();
        s.statuses.set(key, (s.statuses.get(key) ?? 0) + 1);
      }
    }
  };
  const loops = Array.from({ length: TOKEN_LOOPS }, () => loop());
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

function describeStats(stats: TokenLoadStats, indexes: number[]): string {
  return indexes
    .map((i) => {
      const s = stats.byInstance.get(i)!;
      const extra = [...s.statuses].map(([k, n]) => `${n}× ${k}`).join(', ');
      return `#${i} ${s.ok} ok${extra ? ` (${extra})` : ''}`;
    })
    .join('; ');
}

// ---------------------------------------------------------------- the drill

async function main(): Promise<void> {
  const started = Date.now();
  workDir = mkdtempSync(join(tmpdir(), 'latchkey-faults-'));
  await createCluster();

  const ports = [await freePort(), await freePort(), await freePort()];
  // The first instance migrates the empty database and creates the admin; the others then join.
  const first = startInstance(0, ports[0]!);
  const t0 = Date.now();
  await waitReady(first);
  startInstance(1, ports[1]!);
  startInstance(2, ports[2]!);
  await Promise.all([waitReady(instances[1]!), waitReady(instances[2]!)]);
  log(`3 instances ready on ports ${ports.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  await runCli(['environments', 'create', ENVIRONMENT]);
  const created = JSON.parse(await runCli(['integrations', 'create', '--env', ENVIRONMENT, '--name', 'load', '--preset', 'all', '--json'])) as { integration: { clientId: string }; clientSecret: string };
  const client: Credentials = { clientId: created.integration.clientId, clientSecret: created.clientSecret };
  const session = await signIn(first);
  log(`environment ${ENVIRONMENT}, integration ${client.clientId}, admin session signed in`);

  // Every instance hands out the same token for the same request before any fault.
  const warm = await Promise.all(instances.map((i) => tokenRequest(i, client, CACHED_SCOPE)));
  const token = String(warm[0]?.body?.access_token);
  const sameEverywhere = warm.every((a) => a.status === 200 && a.body?.access_token === token);
  check('setup: three instances, one cached token', sameEverywhere, warm.map((a, i) => `#${i} ${a.status}`).join(', '));
  if (!sameEverywhere) return;

  await drillKill(client, session, token);
  await drillDatabaseOutage(client, session, token);
  log(`drill finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** (a) SIGKILL one instance under token and Platform API load. */
async function drillKill(client: Credentials, session: Session, token: string): Promise<void> {
  log('(a) load on all three instances, then kill -9 instance #2');
  const victim = instances[2]!;
  const survivors = [instances[0]!, instances[1]!];
  const down = new Set<number>();
  const load = startTokenLoad(instances.slice(), client, down);

  // Platform API writes, round-robin over the three instances; every 201 is an acknowledged write.
  const acknowledged: string[] = [];
  const writeProblems: string[] = [];
  let writesToVictimAfterKill = 0;
  let killedAt = 0;
  let writing = true;
  let n = 0;
  const writer = async (): Promise<void> => {
    while (writing) {
      const target = instances[n % 3]!;
      const name = `fault-write-${++n}`;
      const answer = await platformCreate(target, session, name);
      if (answer.status === 201) acknowledged.push(String(answer.body?.integration?.clientId));
      else if (target === victim && killedAt > 0) writesToVictimAfterKill++;
      else writeProblems.push(`#${target.index} ${name}: ${answer.error ?? `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`}`);
    }
  };
  const writers = Array.from({ length: WRITE_LOOPS }, () => writer());

  await sleep(1500);
  killedAt = Date.now();
  victim.child.kill('SIGKILL');
  down.add(victim.index);
  const exit = await victim.exited;
  log(`killed instance #2 (pid ${victim.child.pid}): ${exit.signal}`);
  await sleep(3000);
  writing = false;
  await Promise.all(writers);
  const stats = await load.stop();

  const survivorStats = survivors.map((s) => stats.byInstance.get(s.index)!);
  const survivorOk = survivorStats.reduce((sum, s) => sum + s.ok, 0);
  const survivorBad = survivorStats.reduce((sum, s) => sum + s.other + s.errors, 0);
  const tokens = new Set(survivorStats.flatMap((s) => [...s.tokens]));
  check(
    '(a) survivors answer every token request with 200 and the same cached token',
    survivorBad === 0 && survivorOk > 0 && tokens.size === 1 && tokens.has(token),
    `${describeStats(stats, [0, 1, 2])}; distinct tokens from survivors: ${tokens.size}`,
  );
  const answeredAfterKill = survivorStats.every((s) => s.lastOkAt > killedAt + 2500);
  check('(a) survivors keep answering after the kill', answeredAfterKill, survivorStats.map((s, i) => `#${i} last 200 at +${((s.lastOkAt - killedAt) / 1000).toFixed(1)} s after the kill`).join(', '));

  // Every acknowledged write is in the database (an unacknowledged one may be too: it can commit
  // and then lose its response with the process).
  const db = new pg.Client({ connectionString: databaseUrl() });
  await db.connect();
  const rows = await db.query<{ client_id: string }>("select client_id from integrations where environment_id = $1 and name like 'fault-write-%'", [ENVIRONMENT]);
  await db.end();
  const stored = new Set(rows.rows.map((r) => r.client_id));
  const missing = acknowledged.filter((id) => !stored.has(id));
  check(
    '(a) every acknowledged (201) Platform API write is in the database',
    acknowledged.length > 0 && missing.length === 0,
    `${acknowledged.length} acknowledged, ${stored.size} rows, ${missing.length} missing; ${writesToVictimAfterKill} write(s) to the killed instance got no 201`,
  );
  check('(a) Platform API writes to the survivors all succeed', writeProblems.length === 0, writeProblems.length === 0 ? `${n} writes sent` : writeProblems.slice(0, 5).join('; '));

  // The killed instance comes back (same port) and serves the token the cluster already holds.
  startInstance(2, victim.port);
  const readyMs = await waitReady(instances[2]!);
  const again = await tokenRequest(instances[2]!, client, CACHED_SCOPE);
  check('(a) a restarted instance serves the same cached token', again.status === 200 && again.body?.access_token === token, `ready in ${(readyMs / 1000).toFixed(1)} s, answered ${again.status}`);
}

/** (b) Stop PostgreSQL under load, probe, start it again, watch every instance recover. */
async function drillDatabaseOutage(client: Credentials, session: Session, token: string): Promise<void> {
  log('(b) load on all three instances, then pg_ctl stop -m fast');
  const scopes = freshScopeSets();
  const nextScope = (): string => scopes.next().value as string;
  // Every instance holds the client and its token in memory before the database goes.
  for (const instance of instances) await tokenRequest(instance, client, CACHED_SCOPE);
  const pidsBefore = instances.map((i) => i.child.pid);
  const down = new Set<number>();
  const load = startTokenLoad(instances.slice(), client, down);
  await sleep(500);

  const stoppedAt = Date.now();
  await stopPostgres('fast');
  log(`PostgreSQL stopped in ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);

  // Requests that need the database: a scope set never asked for (must mint) and a Platform API read.
  const probes: { what: string; answer: Answer }[] = [];
  for (const round of [0, 1]) {
    if (round === 1) await sleep(2500); // again once pools hold no connection at all
    for (const instance of instances) {
      probes.push({ what: `#${instance.index} mint`, answer: await tokenRequest(instance, client, nextScope()) });
      probes.push({ what: `#${instance.index} platform read`, answer: await platformRead(instance, session) });
    }
  }
  const readiness = await Promise.all(instances.map(async (i) => ({ ready: await request(`${i.url}/readyz`, {}), health: await request(`${i.url}/healthz`, {}) })));

  const mintOk = (a: Answer): boolean => a.status === 503 && a.body?.error === 'temporarily_unavailable';
  const readOk = (a: Answer): boolean => a.status === 503 && a.body?.code === 'database_unavailable';
  const slowest = Math.max(...probes.map((p) => p.answer.ms));
  const wrong = probes.filter((p) => !(p.what.endsWith('mint') ? mintOk(p.answer) : readOk(p.answer)) || p.answer.ms > FAIL_FAST_MS);
  check(
    `(b) requests that need the database fail fast with 503 (each within ${FAIL_FAST_MS / 1000} s)`,
    wrong.length === 0,
    `${probes.length} probes, slowest ${slowest.toFixed(0)} ms${wrong.length ? `; wrong: ${wrong.map((p) => `${p.what} → ${p.answer.error ?? p.answer.status} ${JSON.stringify(p.answer.body).slice(0, 120)} in ${p.answer.ms.toFixed(0)} ms`).join('; ')}` : ''}`,
  );
  check(
    '(b) /readyz says 503 and /healthz 200 while the database is down',
    readiness.every((r) => r.ready.status === 503 && r.health.status === 200),
    readiness.map((r, i) => `#${i} readyz ${r.ready.status} healthz ${r.health.status}`).join(', '),
  );

  const downFor = Date.now() - stoppedAt;
  if (downFor < 4000) await sleep(4000 - downFor);
  const restartedAt = Date.now();
  await startPostgres();
  log(`PostgreSQL started again after ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s down`);

  // Recovery: each instance must mint and serve a Platform API read again, without a restart.
  const recovery = await Promise.all(
    instances.map(async (instance) => {
      const scope = nextScope();
      let mintAt = 0;
      let readAt = 0;
      let last = '';
      while (Date.now() - restartedAt < RECOVERY_MS + 2000 && (!mintAt || !readAt)) {
        if (!mintAt) {
          const a = await tokenRequest(instance, client, scope);
          if (a.status === 200) mintAt = Date.now();
          else last = `mint ${a.error ?? a.status}`;
        }
        if (!readAt) {
          const a = await platformRead(instance, session);
          if (a.status === 200) readAt = Date.now();
          else last = `read ${a.error ?? a.status}`;
        }
        if (!mintAt || !readAt) await sleep(200);
      }
      return { index: instance.index, mintMs: mintAt ? mintAt - restartedAt : undefined, readMs: readAt ? readAt - restartedAt : undefined, last };
    }),
  );
  const stats = await load.stop();
  const fmt = (ms: number | undefined): string => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  check(
    `(b) every instance recovers without a restart (mint and Platform API read 200 within ${RECOVERY_MS / 1000} s)`,
    recovery.every((r) => r.mintMs !== undefined && r.readMs !== undefined && r.mintMs <= RECOVERY_MS && r.readMs <= RECOVERY_MS),
    recovery.map((r) => `#${r.index} mint ${fmt(r.mintMs)}, read ${fmt(r.readMs)}${r.mintMs === undefined || r.readMs === undefined ? ` (last: ${r.last})` : ''}`).join('; '),
  );

  const all = [...stats.byInstance.values()];
  const tokens = new Set(all.flatMap((s) => [...s.tokens]));
  check(
    '(b) cached-token requests answer 200 with the same token throughout the outage',
    all.every((s) => s.other === 0 && s.errors === 0 && s.ok > 0) && tokens.size === 1 && tokens.has(token),
    `${describeStats(stats, [0, 1, 2])}; distinct tokens: ${tokens.size}`,
  );
  const crashed = instances.filter((i, k) => i.exitInfo !== undefined || i.child.pid !== pidsBefore[k]);
  check('(b) no instance exited during the outage', crashed.length === 0, crashed.length === 0 ? 'all three processes still running' : crashed.map((i) => `#${i.index} exited (${i.exitInfo?.signal ?? i.exitInfo?.code})`).join(', '));

  // After the outage, a change still reaches every instance (notifications or the poll resumed).
  await runCli(['integrations', 'set-permissions', client.clientId, '--preset', 'read-only']);
  const changedAt = Date.now();
  const seen = await Promise.all(
    instances.map(async (instance) => {
      while (Date.now() - changedAt < 5000) {
        const a = await tokenRequest(instance, client, CACHED_SCOPE);
        if (a.status === 200 && a.body?.access_token !== token) return Date.now() - changedAt;
        await sleep(50);
      }
      return undefined;
    }),
  );
  check(
    '(b) after recovery, a permission change reaches every instance within 2 s',
    seen.every((ms) => ms !== undefined && ms <= 2000),
    seen.map((ms, i) => `#${i} ${ms === undefined ? 'not within 5 s' : `${ms} ms`}`).join(', '),
  );
}

// ---------------------------------------------------------------- run

const budgetSeconds = Number(process.env.FAULTS_TIMEOUT ?? 200);
const deadline = setTimeout(() => {
  check('the drill finishes in time', false, `still running after ${budgetSeconds} s`);
  void finish(1);
}, budgetSeconds * 1000);

async function finish(code: number): Promise<never> {
  clearTimeout(deadline);
  const failed = checks.filter((c) => !c.pass);
  if (failed.length > 0) {
    for (const instance of instances) if (instance) console.log(`\n--- instance #${instance.index} (last lines)\n${instance.tail.slice(-15).join('\n')}`);
  }
  await cleanup();
  const exitCode = code !== 0 || failed.length > 0 || checks.length === 0 ? 1 : 0;
  console.log(`\nfaults: ${checks.length - failed.length} passed, ${failed.length} failed — ${exitCode === 0 ? 'PASS' : 'FAIL'}`);
  process.exit(exitCode);
}

main().then(
  () => finish(0),
  (error: unknown) => {
    check('the drill runs to the end', false, error instanceof Error ? error.stack ?? error.message : String(error));
    return finish(1);
  },
);
