/**
 * Scale benchmarks (issue 6, point 6): Latchkey with 100,000 integrations across 10,000 environments
 * next to Latchkey with one, on SQLite (and PostgreSQL when a server URL is given).
 *
 *   (i)   start-up: `latchkey serve` spawned → first 200 from /readyz           target < 3 s
 *   (ii)  resident memory after start, and after warming a few thousand clients  target < 300 MB
 *   (i')  start-up and memory after start side by side with a bare node:http process started the
 *         same way (`node bench/bare-readyz.js`, measured just before each Latchkey start)
 *                                              targets (issue 15): start-up ≤ 4×, RSS ≤ 2.5× the bare
 *   (iii) cached-token throughput with 100k integrations ÷ with 1                target ≥ 0.9
 *   (iv)  the same cached-token load on `serve --workers 2`, next to one worker
 *
 * Latchkey runs as users run it: `node packages/server/bin/latchkey.js`, the compiled output (dist/;
`npm run bench` builds it first). Data comes from `latchkey dev seed` (batched inserts; its time is reported too). Each load run is
 * at most `settings.durationSeconds` (≤ 10 s); the two sides of the ratio are loaded alternately
 * (A B B A …), so drift in the machine's load hits both alike.
 *
 * Used by bench/run.ts through `runScaleBenchmarks`, or alone:
 *   node --import tsx bench/scale.ts       (BENCH_SCALE_INTEGRATIONS, BENCH_SCALE_ENVIRONMENTS,
 *   BENCH_SCALE_WARM_CLIENTS, BENCH_SCALE_POSTGRES_URL, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_THREADS)
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { accessTokenOf, expectOk, tokenRequest } from './http.ts';
import { LATCHKEY_BIN, type Client } from './latchkey.ts';
import { describeLoad, envNumber, loadSettingsFromEnv, runLoad, type LoadSettings } from './load.ts';
import { freePort, installCleanupHandlers, runCommand, startServer, stopAll, stopServer, type ServerProcess } from './processes.ts';
import { cpuSnapshot, foreignCpuPercent, waitForQuietMachine } from './cpu.ts';
import { createScratchDatabase } from './postgres.ts';
import { computeRatios, cpuMicrosPerRequest, ratioTable, scenarioTable } from './report.ts';
import type { LoadResult, LoadTarget, Ratio, ScenarioOutcome } from './scenario.ts';

/** Options of the scale benchmarks. */
export interface ScaleOptions {
  repoRoot: string;
  /** A scratch directory (databases, credential files); removed by the caller. */
  workDir: string;
  /** The load generator settings of the run; durations above 10 s are capped at 10 s. */
  settings: LoadSettings;
  log: (line: string) => void;
  /** Default 10,000. */
  environments?: number;
  /** Default 100,000. */
  integrations?: number;
  /** Distinct clients that get a token before the second memory reading. Default 2,000. */
  warmClients?: number;
  /** Warm-up before each measured load run, seconds. Default 2. */
  warmupSeconds?: number;
  /**
   * A PostgreSQL URL whose user may create databases (e.g. postgres://postgres@127.0.0.1:5432/postgres):
   * the 100k measurements are repeated on a database created there and dropped afterwards.
   */
  postgresUrl?: string | undefined;
}

/** One non-throughput figure (start-up time, memory, seed time), with its target when it has one. */
export interface ScaleFigure {
  name: string;
  value: number;
  unit: 's' | 'MB' | '×';
  target?: { op: '<' | '≤' | '≥'; value: number };
  pass?: boolean;
}

/** A row of the benchmark table (same shape as bench/run.ts's outcomes) plus its scale figures. */
export interface ScaleRow extends ScenarioOutcome {
  figures: ScaleFigure[];
}

/** The ratio issue 6 sets: cached-token throughput with 100k integrations ≥ 0.9 × with one. */
export const SCALE_RATIOS: Ratio[] = [{ numerator: 's-100k', denominator: 's-1', target: 0.9 }];

const STARTUP_TARGET_S = 3;
const RSS_TARGET_MB = 300;
/** Issue 15: start-up to /readyz at most 4×, and RSS after start at most 2.5×, a bare node:http process's. */
const STARTUP_VS_BARE_TARGET = 4;
const RSS_VS_BARE_TARGET = 2.5;
const BARE_SERVER = 'bench/bare-readyz.js';
const CACHED_BODY = 'grant_type=client_credentials&scope=templates%3Aread';
/** Above this share of CPU used by other processes during a run, its figures get a warning. */
const OTHER_CPU_WARNING = 10;

function figure(name: string, value: number, unit: ScaleFigure['unit'], target?: ScaleFigure['target']): ScaleFigure {
  if (!target) return { name, value, unit };
  const pass = target.op === '<' ? value < target.value : target.op === '≤' ? value <= target.value : value >= target.value;
  return { name, value, unit, target, pass };
}

/** Resident memory of a process and all its descendants (a cluster primary and its workers), MB. */
function rssMegabytes(rootPid: number): number {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  const inTree = (pid: number): boolean => {
    for (let cur = pid, hops = 0; cur > 1 && hops < 32; hops++, cur = parent.get(cur) ?? 0) if (cur === rootPid) return true;
    return false;
  };
  let kilobytes = 0;
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    try {
      kilobytes += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* exited meanwhile */
    }
  }
  return kilobytes / 1024;
}

interface Dataset {
  label: string;
  env: NodeJS.ProcessEnv;
  /** The client whose cached token the load asks for. */
  cached: Client;
  credentialsFile: string;
  seedSeconds: number;
  /** Wall time of the whole `latchkey dev seed` process (Node start-up included). */
  seedWallSeconds: number;
  drop?: () => Promise<void>;
}

interface Started {
  server: ServerProcess;
  base: string;
  startupSeconds: number;
  rssAfterStartMb: number;
}

/** Seeds a database with `latchkey dev seed` and returns what the measurements need. */
async function seed(opts: ScaleOptions, label: string, databaseUrl: string, environments: number, integrations: number): Promise<Dataset> {
  const dir = join(opts.workDir, 'scale', label.replace(/[^a-z0-9]+/gi, '-'));
  await mkdir(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LATCHKEY_DATABASE_URL: databaseUrl,
    LATCHKEY_DATA_DIR: dir,
    // One key for every process of a dataset; PostgreSQL requires it to be given.
    LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64url'),
    HOST: '127.0.0.1',
    LATCHKEY_ADMIN_PASSWORD: 'bench-password-123',
    LATCHKEY_LOG_LEVEL: 'warn',
  };
  const credentialsFile = join(dir, 'credentials.jsonl');
  const t0 = Date.now();
  const { stdout } = await runCommand(
    process.execPath,
    [LATCHKEY_BIN, 'dev', 'seed', '--environments', String(environments), '--integrations', String(integrations), '--preset', 'all', '--prefix', 'scale', '--credentials-file', credentialsFile, '--json'],
    { cwd: opts.repoRoot, env },
  );
  const seedWallSeconds = (Date.now() - t0) / 1000;
  const result = JSON.parse(stdout) as { seconds: number };
  const first = JSON.parse((await readFile(credentialsFile, 'utf8')).slice(0, 400).split('\n')[0]!) as { client_id: string; client_secret: string };
  opts.log(`(scale) ${label}: seeded ${environments.toLocaleString('en-US')} environments and ${integrations.toLocaleString('en-US')} integrations in ${result.seconds.toFixed(1)} s (process ${seedWallSeconds.toFixed(1)} s)`);
  return { label, env, cached: { clientId: first.client_id, clientSecret: first.client_secret }, credentialsFile, seedSeconds: result.seconds, seedWallSeconds };
}

/**
 * A copy of a seeded SQLite dataset, for a second server to run beside the first: one SQLite file
 * has one serving process (storage/serving-lease.ts). Copied while no process has it open (the seed
 * has exited and checkpointed its log), so the file alone is the whole database.
 */
async function copySqliteDataset(opts: ScaleOptions, data: Dataset, label: string): Promise<Dataset> {
  const from = String(data.env.LATCHKEY_DATABASE_URL).replace(/^sqlite:/, '');
  const dir = join(opts.workDir, 'scale', label);
  await mkdir(dir, { recursive: true });
  for (const suffix of ['', '-wal']) {
    if (existsSync(from + suffix)) await copyFile(from + suffix, join(dir, 'latchkey.db' + suffix));
  }
  return { ...data, label, env: { ...data.env, LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`, LATCHKEY_DATA_DIR: dir } };
}

/** Starts `latchkey serve [--workers n]` and times it until /readyz answers 200 (and every worker listens). */
async function serve(opts: ScaleOptions, data: Dataset, name: string, workers = 1): Promise<Started> {
  const args = [LATCHKEY_BIN, 'serve', ...(workers > 1 ? ['--workers', String(workers)] : [])];
  // With workers the primary prints its banner once every worker listens.
  return startTimed(opts, name, args, data.env, (server) => workers === 1 || server.tail().includes(`(${workers} workers)`));
}

/** Starts the bare node:http baseline the same way, times it the same way, and stops it. */
async function serveBare(opts: ScaleOptions, name: string): Promise<Started> {
  const started = await startTimed(opts, name, [BARE_SERVER], { ...process.env, HOST: '127.0.0.1' }, () => true);
  await stopServer(started.server);
  return started;
}

/** Spawns `node …args` with PORT set and times it until /readyz answers 200 and `ready` agrees; reads its RSS a second later. */
async function startTimed(opts: ScaleOptions, name: string, args: string[], env: NodeJS.ProcessEnv, ready: (server: ServerProcess) => boolean): Promise<Started> {
  const port = await freePort();
  await waitForQuietMachine(OTHER_CPU_WARNING, 15_000);
  const t0 = performance.now();
  const server = startServer(name, process.execPath, args, { cwd: opts.repoRoot, env: { ...env, PORT: String(port) } });
  const base = `http://127.0.0.1:${port}`;
  let exited = false;
  void server.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${name} exited during start-up:\n${server.tail()}`);
    if (performance.now() - t0 > 60_000) throw new Error(`${name} not ready within 60 s:\n${server.tail()}`);
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200 && ready(server)) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const startupSeconds = (performance.now() - t0) / 1000;
  // Let start-up garbage settle before reading memory.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { server, base, startupSeconds, rssAfterStartMb: rssMegabytes(server.child.pid!) };
}

/**
 * Start-up swings by a third from one start to the next on these 2-core machines (a node process
 * alone takes 0.14-0.2 s to boot here), so each start-up figure is the median of
 * STARTUP_SAMPLES starts, bare node:http and Latchkey alternating; RSS is the median of the same
 * starts. The last Latchkey start keeps running for the measurements that follow.
 */
const STARTUP_SAMPLES = envNumber('BENCH_STARTUP_SAMPLES', 3);

async function startupMedians(opts: ScaleOptions, data: Dataset, name: string): Promise<{ bare: Started; latchkey: Started }> {
  const bares: Started[] = [];
  const latchkeys: Started[] = [];
  for (let i = 0; i < STARTUP_SAMPLES; i++) {
    bares.push(await serveBare(opts, `bare-http-${name}-${i}`));
    const started = await serve(opts, data, i === STARTUP_SAMPLES - 1 ? name : `${name}-sample-${i}`);
    latchkeys.push(started);
    if (i < STARTUP_SAMPLES - 1) await stopServer(started.server);
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const of = (runs: Started[], last: Started): Started => ({ ...last, startupSeconds: median(runs.map((r) => r.startupSeconds)), rssAfterStartMb: median(runs.map((r) => r.rssAfterStartMb)) });
  opts.log(`(scale) ${name}: start-up ${latchkeys.map((r) => r.startupSeconds.toFixed(2)).join(', ')} s; bare node:http ${bares.map((r) => r.startupSeconds.toFixed(2)).join(', ')} s`);
  return { bare: of(bares, bares[bares.length - 1]!), latchkey: of(latchkeys, latchkeys[latchkeys.length - 1]!) };
}

/** Start-up and RSS after start as multiples of the bare node:http process's, with issue 15's targets. */
function versusBare(label: string, latchkey: Started, bare: Started): ScaleFigure[] {
  return [
    figure(`bare node:http: start-up to /readyz (measured before ${label})`, bare.startupSeconds, 's'),
    figure(`bare node:http: RSS after start (measured before ${label})`, bare.rssAfterStartMb, 'MB'),
    figure(`start-up ÷ bare node:http, ${label}`, latchkey.startupSeconds / bare.startupSeconds, '×', { op: '≤', value: STARTUP_VS_BARE_TARGET }),
    figure(`RSS after start ÷ bare node:http, ${label}`, latchkey.rssAfterStartMb / bare.rssAfterStartMb, '×', { op: '≤', value: RSS_VS_BARE_TARGET }),
  ];
}

/** Checks that the cached request really is served from the cache, and returns the load target. */
async function cachedTarget(name: string, started: Started, client: Client): Promise<LoadTarget> {
  const request = tokenRequest(client.clientId, client.clientSecret, CACHED_BODY);
  const target: LoadTarget = { url: `${started.base}/oauth/token`, method: 'POST', requests: [request], serverPid: started.server.child.pid };
  const first = accessTokenOf(await expectOk(name, target, request));
  const second = accessTokenOf(await expectOk(name, target, request));
  if (first !== second) throw new Error(`${name}: two identical token requests got different tokens`);
  return target;
}

/** Gets one token for each of `count` distinct seeded clients (8 at a time); returns failures. */
async function warmClients(data: Dataset, started: Started, count: number): Promise<{ ok: number; failed: number; seconds: number }> {
  const lines = (await readFile(data.credentialsFile, 'utf8')).split('\n', count + 1).slice(1, count + 1).filter(Boolean);
  const clients = lines.map((line) => JSON.parse(line) as { client_id: string; client_secret: string });
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < clients.length) {
      const c = clients[next++]!;
      const request = tokenRequest(c.client_id, c.client_secret, CACHED_BODY);
      try {
        const res = await fetch(`${started.base}/oauth/token`, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, () => worker()));
  return { ok, failed, seconds: (performance.now() - t0) / 1000 };
}

/** Sums alternating runs into one result: requests, time and server CPU add up; p50 is averaged, p99 the worst. */
function combine(runs: LoadResult[]): LoadResult {
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  const durationSeconds = runs.reduce((s, r) => s + r.durationSeconds, 0);
  const serverCpu = runs.every((r) => r.serverCpuSeconds !== undefined) ? { serverCpuSeconds: runs.reduce((s, r) => s + r.serverCpuSeconds!, 0) } : {};
  return {
    ...serverCpu,
    tool: runs[0]!.tool,
    requests,
    durationSeconds,
    requestsPerSecond: requests / durationSeconds,
    p50Ms: runs.reduce((s, r) => s + r.p50Ms, 0) / runs.length,
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  };
}

interface Measured {
  result: LoadResult;
  otherCpuPercent: number | undefined;
}

/**
 * Loads each target in turn, `rounds` times, each run `durationSeconds / rounds` long (at least 3 s),
 * after one warm-up per target. Alternating, in A B B A order, keeps a change in the machine's load
 * (or running first) from favouring a side.
 */
async function alternate(opts: ScaleOptions, targets: { key: string; target: LoadTarget }[], rounds = 2, minWarmupSeconds = 0): Promise<Map<string, Measured>> {
  const duration = Math.min(10, opts.settings.durationSeconds);
  const perRun = Math.max(3, Math.round(duration / rounds));
  const settings: LoadSettings = { ...opts.settings, durationSeconds: perRun };
  const warmup = Math.max(opts.warmupSeconds ?? 2, minWarmupSeconds);
  for (const { key, target } of targets) if (warmup > 0) await runLoad(`scale-${key}-warmup`, target, { ...settings, durationSeconds: warmup });
  const runs = new Map<string, LoadResult[]>(targets.map((t) => [t.key, []]));
  const foreign = new Map<string, number[]>(targets.map((t) => [t.key, []]));
  for (let round = 0; round < rounds; round++) {
    // A B, B A, A B, …: neither side always runs first (or right after its own warm-up).
    for (const { key, target } of round % 2 === 0 ? targets : [...targets].reverse()) {
      await waitForQuietMachine(OTHER_CPU_WARNING, 15_000);
      const before = cpuSnapshot();
      runs.get(key)!.push(await runLoad(`scale-${key}`, target, settings));
      const share = foreignCpuPercent(before, cpuSnapshot());
      if (share !== undefined) foreign.get(key)!.push(share);
    }
  }
  const out = new Map<string, Measured>();
  for (const { key } of targets) {
    const shares = foreign.get(key)!;
    out.set(key, { result: combine(runs.get(key)!), otherCpuPercent: shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : undefined });
  }
  return out;
}

function row(key: string, name: string, measured: Measured | undefined, figures: ScaleFigure[], notes: string[] = []): ScaleRow {
  const warnings: string[] = [];
  if (measured?.otherCpuPercent !== undefined && measured.otherCpuPercent > OTHER_CPU_WARNING) {
    warnings.push(`other processes used ${measured.otherCpuPercent.toFixed(0)}% of the machine's CPU during the run; its figures are skewed`);
  }
  if (measured && (measured.result.non2xx > 0 || measured.result.errors > 0)) {
    warnings.push(`${measured.result.non2xx} non-2xx responses and ${measured.result.errors} socket errors/timeouts in the measured runs`);
  }
  for (const f of figures) if (f.pass === false) warnings.push(`${f.name}: ${formatFigure(f)} misses its target (${f.target!.op} ${f.target!.value} ${f.unit})`);
  return {
    key,
    name,
    ...(measured ? { result: measured.result } : {}),
    ...(measured?.otherCpuPercent !== undefined ? { otherCpuPercent: measured.otherCpuPercent } : {}),
    notes,
    warnings,
    figures,
  };
}

/** Runs the scale measurements and returns one row per measured configuration. */
export async function runScaleBenchmarks(opts: ScaleOptions): Promise<ScaleRow[]> {
  const environments = opts.environments ?? 10_000;
  const integrations = opts.integrations ?? 100_000;
  const warm = Math.min(opts.warmClients ?? 2000, integrations - 1);
  const n = integrations.toLocaleString('en-US');
  const sqlite = (label: string): string => `sqlite:${join(opts.workDir, 'scale', label, 'latchkey.db')}`;

  // One integration vs. many, both seeded the same way (the cached client is the first of each).
  const one = await seed(opts, 'one', sqlite('one'), 1, 1);
  const many = await seed(opts, 'many', sqlite('many'), environments, integrations);
  // `--workers 2` is measured beside one worker, so it serves a copy of the same data.
  const manyForWorkers = await copySqliteDataset(opts, many, 'many-workers');

  // Start-up, each Latchkey right after a bare node:http process, so both meet the same machine.
  const { bare: bareSmall, latchkey: small } = await startupMedians(opts, one, 'latchkey-scale-1');
  const { bare: bareLarge, latchkey: large } = await startupMedians(opts, many, 'latchkey-scale-100k');
  opts.log(`(scale) start-up to /readyz: ${small.startupSeconds.toFixed(2)} s with 1 integration (bare node:http ${bareSmall.startupSeconds.toFixed(2)} s), ${large.startupSeconds.toFixed(2)} s with ${n} (bare ${bareLarge.startupSeconds.toFixed(2)} s)`);
  opts.log(`(scale) RSS after start: ${small.rssAfterStartMb.toFixed(0)} MB with 1 integration (bare node:http ${bareSmall.rssAfterStartMb.toFixed(0)} MB), ${large.rssAfterStartMb.toFixed(0)} MB with ${n} (bare ${bareLarge.rssAfterStartMb.toFixed(0)} MB)`);

  const warmed = await warmClients(many, large, warm);
  const rssWarm = rssMegabytes(large.server.child.pid!);
  opts.log(`(scale) warmed ${warmed.ok} clients in ${warmed.seconds.toFixed(1)} s (${warmed.failed} failed); RSS ${large.rssAfterStartMb.toFixed(0)} MB after start, ${rssWarm.toFixed(0)} MB after warming`);

  const smallTarget = await cachedTarget('scale-1', small, one.cached);
  const largeTarget = await cachedTarget('scale-100k', large, many.cached);
  const throughput = await alternate(
    opts,
    [
      { key: 's-1', target: smallTarget },
      { key: 's-100k', target: largeTarget },
    ],
    3,
  );

  // Multi-worker: the same data and request on `serve --workers 2`, alternated with one worker.
  const multi = await serve(opts, manyForWorkers, 'latchkey-scale-100k-w2', 2);
  const multiTarget = await cachedTarget('scale-100k-w2', multi, many.cached);
  // Fresh worker processes need a longer warm-up than one process (each JIT-compiles the hot path
  // on its own; measured: a cold pair is ~4× slower in its first 5 s), hence at least 6 s here.
  const workers = await alternate(
    opts,
    [
      { key: 'w-1', target: largeTarget },
      { key: 'w-2', target: multiTarget },
    ],
    2,
    6,
  );
  const w1 = workers.get('w-1')!.result.requestsPerSecond;
  const w2 = workers.get('w-2')!.result.requestsPerSecond;
  const cpu = (measured: Measured | undefined): string => `${cpuMicrosPerRequest(measured?.result)?.toFixed(1) ?? '—'} µs CPU/request`;
  opts.log(
    `(scale) cached tokens: ${Math.round(throughput.get('s-1')!.result.requestsPerSecond)} req/s (${cpu(throughput.get('s-1'))}) with 1 integration, ` +
      `${Math.round(throughput.get('s-100k')!.result.requestsPerSecond)} (${cpu(throughput.get('s-100k'))}) with ${n}; ` +
      `--workers 2 ${Math.round(w2)} (${cpu(workers.get('w-2'))}) vs 1 worker ${Math.round(w1)} (${cpu(workers.get('w-1'))}) (${(w2 / w1).toFixed(2)}×)`,
  );

  const rows: ScaleRow[] = [
    row('s-1', 'Latchkey cached token, 1 integration (SQLite)', throughput.get('s-1'), [
      figure('start-up to /readyz, 1 integration', small.startupSeconds, 's'),
      figure('RSS after start, 1 integration', small.rssAfterStartMb, 'MB'),
      ...versusBare('1 integration', small, bareSmall),
    ]),
    row(
      's-100k',
      `Latchkey cached token, ${n} integrations (SQLite)`,
      throughput.get('s-100k'),
      [
        figure(`dev seed: ${environments.toLocaleString('en-US')} environments + ${n} integrations`, many.seedSeconds, 's'),
        figure(`start-up to /readyz, ${n} integrations`, large.startupSeconds, 's', { op: '<', value: STARTUP_TARGET_S }),
        figure(`RSS after start, ${n} integrations`, large.rssAfterStartMb, 'MB', { op: '<', value: RSS_TARGET_MB }),
        figure(`RSS after warming ${warmed.ok.toLocaleString('en-US')} clients`, rssWarm, 'MB', { op: '<', value: RSS_TARGET_MB }),
        ...versusBare(`${n} integrations`, large, bareLarge),
      ],
      [
        `${n} integrations in ${environments.toLocaleString('en-US')} environments seeded by \`latchkey dev seed\` in ${many.seedSeconds.toFixed(1)} s (${many.seedWallSeconds.toFixed(1)} s with Node start-up)`,
        `before the run ${warmed.ok.toLocaleString('en-US')} distinct clients got a token (${warmed.seconds.toFixed(1)} s${warmed.failed ? `, ${warmed.failed} failed` : ''}), so the server holds them in memory`,
        'loaded alternately with the 1-integration server (A B B A …), three runs each, summed',
      ],
    ),
    row('w-1', `… ${n} integrations, 1 worker (alternated with w-2)`, workers.get('w-1'), []),
    row(
      'w-2',
      `… ${n} integrations, serve --workers 2`,
      workers.get('w-2'),
      [
        figure('--workers 2 ÷ 1 worker, cached tokens', w2 / w1, '×'),
        figure('start-up to /readyz, --workers 2 (every worker listening)', multi.startupSeconds, 's'),
        figure('RSS after start, --workers 2 (primary + workers)', multi.rssAfterStartMb, 'MB'),
      ],
      ['the load generator runs on the same cores as the workers, so this understates what a second worker adds on a dedicated machine', 'serves a copy of the same 100,000-integration database: one SQLite file has one serving process (or one cluster)'],
    ),
  ];
  if (warmed.failed > 0) rows[1]!.warnings.push(`${warmed.failed} of ${warm} warming requests failed`);

  if (opts.postgresUrl) {
    try {
      rows.push(await measurePostgres(opts, environments, integrations, warm));
    } catch (error) {
      rows.push({ ...row('p-100k', `Latchkey cached token, ${n} integrations (PostgreSQL)`, undefined, []), error: (error as Error).message.split('\n')[0]! });
    }
  }
  return rows;
}

/** The 100k measurements on a database created on `opts.postgresUrl` (dropped afterwards). */
async function measurePostgres(opts: ScaleOptions, environments: number, integrations: number, warm: number): Promise<ScaleRow> {
  const database = await createScratchDatabase(opts.postgresUrl!, 'latchkey_scale');
  try {
    const data = await seed(opts, 'many-postgres', database.url, environments, integrations);
    const started = await serve(opts, data, 'latchkey-scale-100k-pg');
    const warmed = await warmClients(data, started, warm);
    const rssWarm = rssMegabytes(started.server.child.pid!);
    const target = await cachedTarget('scale-100k-pg', started, data.cached);
    const measured = (await alternate(opts, [{ key: 'p-100k', target }], 1)).get('p-100k');
    const n = integrations.toLocaleString('en-US');
    // The server stays up until the run's cleanup (stopAll); `drop … with (force)` below ends its connections.
    return row('p-100k', `Latchkey cached token, ${n} integrations (PostgreSQL)`, measured, [
      figure(`dev seed on PostgreSQL: ${n} integrations`, data.seedSeconds, 's'),
      figure(`start-up to /readyz, ${n} integrations, PostgreSQL`, started.startupSeconds, 's', { op: '<', value: STARTUP_TARGET_S }),
      figure(`RSS after start, PostgreSQL`, started.rssAfterStartMb, 'MB', { op: '<', value: RSS_TARGET_MB }),
      figure(`RSS after warming ${warmed.ok.toLocaleString('en-US')} clients, PostgreSQL`, rssWarm, 'MB', { op: '<', value: RSS_TARGET_MB }),
    ]);
  } finally {
    await database.drop();
  }
}

function formatFigure(f: ScaleFigure): string {
  return f.unit === 's' ? `${f.value.toFixed(2)} s` : f.unit === 'MB' ? `${f.value.toFixed(0)} MB` : `${f.value.toFixed(2)}×`;
}

/** The scale figures as a Markdown table (for the console and docs/benchmarks.md). */
export function scaleFigureTable(rows: ScaleRow[]): string {
  const lines = ['| figure | measured | target | |', '|---|--:|--:|---|'];
  for (const f of rows.flatMap((r) => r.figures)) {
    lines.push(`| ${f.name} | ${formatFigure(f)} | ${f.target ? `${f.target.op} ${f.target.value} ${f.unit}` : ''} | ${f.pass === undefined ? '' : f.pass ? '✅ pass' : '❌ FAIL'} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- standalone

async function main(): Promise<number> {
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
  const workDir = await mkdtemp(join(tmpdir(), 'latchkey-scale-'));
  const cleanup = async (): Promise<void> => {
    await stopAll();
    await rm(workDir, { recursive: true, force: true });
  };
  installCleanupHandlers(cleanup);
  const log = (line: string): void => console.log(`[bench] ${line}`);
  try {
    const settings = loadSettingsFromEnv(workDir, log);
    log(`load generator: ${describeLoad(settings)}`);
    const t0 = Date.now();
    const rows = await runScaleBenchmarks({
      repoRoot,
      workDir,
      settings,
      log,
      environments: envNumber('BENCH_SCALE_ENVIRONMENTS', 10_000),
      integrations: envNumber('BENCH_SCALE_INTEGRATIONS', 100_000),
      warmClients: envNumber('BENCH_SCALE_WARM_CLIENTS', 2000),
      postgresUrl: process.env.BENCH_SCALE_POSTGRES_URL,
    });
    const ratios = computeRatios(SCALE_RATIOS, rows);
    console.log(`\n${scenarioTable(rows)}\n\n${ratioTable(ratios)}\n\n${scaleFigureTable(rows)}\n`);
    for (const r of rows) for (const note of r.notes) log(`(${r.key}) ${note}`);
    for (const r of rows) for (const w of r.warnings) log(`(${r.key}) WARNING: ${w}`);
    log(`finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const failed = rows.some((r) => r.error !== undefined || r.figures.some((f) => f.pass === false)) || ratios.some((r) => r.pass === false);
    return failed ? 1 : 0;
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    async (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      await stopAll();
      process.exit(1);
    },
  );
}
