/**
 * The load generator: wrk (C, light on a 2-core machine) driven by a generated Lua script, or
 * autocannon (in this process) when wrk cannot be installed. Both report the same `LoadResult`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processGroupCpuSeconds } from './cpu.ts';
import { track } from './processes.ts';
import type { HttpRequest, LoadResult, LoadTarget } from './scenario.ts';

/** How hard and how long to load each scenario. */
export interface LoadSettings {
  tool: 'wrk' | 'autocannon';
  threads: number;
  connections: number;
  durationSeconds: number;
  /** A request slower than this counts as an error. */
  timeoutSeconds: number;
  /** Where generated Lua scripts and request lists go. */
  workDir: string;
}

/** A numeric BENCH_* setting: its value, or `fallback` when unset; anything else is an error. */
export function envNumber(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/s$/, ''));
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/** The load generator's settings from BENCH_THREADS, BENCH_CONNECTIONS and BENCH_DURATION. */
export function loadSettingsFromEnv(workDir: string, log: (line: string) => void): LoadSettings {
  return {
    tool: pickLoadTool(log),
    threads: envNumber('BENCH_THREADS', 2),
    connections: envNumber('BENCH_CONNECTIONS', 100),
    durationSeconds: envNumber('BENCH_DURATION', 10),
    timeoutSeconds: 10,
    workDir,
  };
}

/** A load result plus where a following run should start in a list of distinct requests. */
export interface LoadRun extends LoadResult {
  nextOffset: number;
}

/** wrk if it is on PATH (installing it with apt-get when we are root), otherwise autocannon. */
export function pickLoadTool(log: (line: string) => void): 'wrk' | 'autocannon' {
  const forced = process.env.BENCH_TOOL;
  if (forced === 'autocannon') return 'autocannon';
  const hasWrk = (): boolean => spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;
  if (hasWrk()) return 'wrk';
  if (process.getuid?.() === 0) {
    log('wrk not found; trying apt-get install -y wrk');
    const opts = { stdio: 'ignore' as const, timeout: 90_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    if (spawnSync('apt-get', ['install', '-y', 'wrk'], opts).status !== 0) {
      spawnSync('apt-get', ['update'], opts);
      spawnSync('apt-get', ['install', '-y', 'wrk'], opts);
    }
    if (hasWrk()) return 'wrk';
  }
  if (forced === 'wrk') throw new Error('BENCH_TOOL=wrk but wrk is not available');
  log('wrk unavailable; falling back to autocannon (runs inside the benchmark process)');
  return 'autocannon';
}

/** The load generator's command line, for the report. */
export function describeLoad(settings: LoadSettings): string {
  return settings.tool === 'wrk'
    ? `wrk -t${settings.threads} -c${settings.connections} -d${settings.durationSeconds}s --latency --timeout ${settings.timeoutSeconds}s -s <scenario.lua> <url>`
    : `autocannon -c ${settings.connections} -d ${settings.durationSeconds} (programmatic, one Node thread)`;
}

/**
 * Loads `target` for `settings.durationSeconds`. For a list of distinct requests, `offset` is where
 * this run starts in the list (a warm-up run returns the `nextOffset` for the measured one). When the
 * target names its server, the server's CPU time is read right before and after the run.
 */
export async function runLoad(name: string, target: LoadTarget, settings: LoadSettings, offset = 0): Promise<LoadRun> {
  const cpu = (): number | undefined => (target.serverPid === undefined ? undefined : processGroupCpuSeconds(target.serverPid));
  const before = cpu();
  const run = settings.tool === 'wrk' ? await runWrk(name, target, settings, offset) : await runAutocannon(target, settings, offset);
  const after = cpu();
  return before === undefined || after === undefined ? run : { ...run, serverCpuSeconds: after - before };
}

// ---------------------------------------------------------------- wrk

/** A Lua string literal for any JS string (bytes outside printable ASCII become \ddd escapes). */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

function luaHeaders(headers: Record<string, string>): string {
  return `{ ${Object.entries(headers).map(([k, v]) => `[${luaString(k)}] = ${luaString(v)}`).join(', ')} }`;
}

/**
 * The `done` hook prints one JSON line with wrk's own summary and percentiles (microseconds) and,
 * for request lists, how many requests each thread issued and whether any wrapped around.
 */
const LUA_DONE = `
function done(summary, latency, requests)
  local issued, maxIssued, wrapped = 0, 0, 0
  for _, t in ipairs(threads) do
    local n = t:get("issued") or 0
    issued = issued + n
    if n > maxIssued then maxIssued = n end
    if (t:get("wrapped") or 0) > 0 then wrapped = 1 end
  end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"issued":%d,"maxIssued":%d,"wrapped":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout, issued, maxIssued, wrapped))
end
`;

function staticScript(target: LoadTarget, request: HttpRequest): string {
  return `-- generated by bench/load.ts: the same request every time
wrk.method = ${luaString(target.method)}
wrk.body = ${luaString(request.body)}
wrk.headers = ${luaHeaders(request.headers)}
threads = {}
function setup(thread) table.insert(threads, thread) end
${LUA_DONE}`;
}

/** One pool entry per line, fields separated by tabs: neither may occur inside a field. */
function poolLine(fields: string[], what: string): string {
  for (const field of fields) {
    if (/[\t\r\n]/.test(field)) throw new Error(`bench/load.ts: a request ${what} holds a tab or a line break, which its pool file cannot carry`);
  }
  return fields.join('\t');
}

/**
 * A request list is written as three files read at start-up — the distinct header sets, the
 * distinct bodies (one per line, header names and values separated by tabs) and the index pairs —
 * not as Lua literals: a script with one literal per request, or per header set when every request
 * carries its own DPoP proof, would hit LuaJIT limits.
 * Thread k of T sends entries offset+k, offset+k+T, … so threads never send the same entry.
 */
async function dynamicScript(name: string, target: LoadTarget, settings: LoadSettings): Promise<string> {
  const headerPool = new Map<string, number>();
  const bodyPool = new Map<string, number>();
  const lines: string[] = [];
  for (const r of target.requests) {
    const h = poolLine(Object.entries(r.headers).flat(), 'header');
    const b = poolLine([r.body], 'body');
    if (!headerPool.has(h)) headerPool.set(h, headerPool.size + 1);
    if (!bodyPool.has(b)) bodyPool.set(b, bodyPool.size + 1);
    lines.push(`${headerPool.get(h)} ${bodyPool.get(b)}`);
  }
  const seqPath = join(settings.workDir, `${name}.requests.txt`);
  const headersPath = join(settings.workDir, `${name}.headers.txt`);
  const bodiesPath = join(settings.workDir, `${name}.bodies.txt`);
  await writeFile(seqPath, `${lines.join('\n')}\n`);
  await writeFile(headersPath, `${[...headerPool.keys()].join('\n')}\n`);
  await writeFile(bodiesPath, `${[...bodyPool.keys()].join('\n')}\n`);
  const path = new URL(target.url).pathname;
  return `-- generated by bench/load.ts: ${target.requests.length} distinct requests, walked without repeats
local method, path = ${luaString(target.method)}, ${luaString(path)}
threads = {}
local nextId = 0
function setup(thread)
  thread:set("tid", nextId)
  nextId = nextId + 1
  table.insert(threads, thread)
end
local headerPool, bodyPool = {}, {}
local seqH, seqB, n, pos, step = {}, {}, 0, 0, 1
function init(args)
  for line in io.lines(${luaString(headersPath)}) do
    local headers, key = {}, nil
    for field in (line .. "\\t"):gmatch("([^\\t]*)\\t") do
      if key == nil then key = field else headers[key] = field; key = nil end
    end
    headerPool[#headerPool + 1] = headers
  end
  for line in io.lines(${luaString(bodiesPath)}) do bodyPool[#bodyPool + 1] = line end
  for line in io.lines(${luaString(seqPath)}) do
    local h, b = line:match("^(%d+) (%d+)$")
    n = n + 1
    seqH[n], seqB[n] = tonumber(h), tonumber(b)
  end
  step = tonumber(args[2])
  pos = tonumber(args[1]) + tid
  issued, wrapped = 0, 0
end
function request()
  if pos >= n then wrapped = 1 end
  local i = (pos % n) + 1
  pos = pos + step
  issued = issued + 1
  return wrk.format(method, path, headerPool[seqH[i]], bodyPool[seqB[i]])
end
${LUA_DONE}`;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  issued: number;
  maxIssued: number;
  wrapped: number;
}

async function runWrk(name: string, target: LoadTarget, settings: LoadSettings, offset: number): Promise<LoadRun> {
  const [first] = target.requests;
  if (first === undefined) throw new Error(`${name}: no requests to send`);
  const dynamic = target.requests.length > 1;
  const script = dynamic ? await dynamicScript(name, target, settings) : staticScript(target, first);
  const scriptPath = join(settings.workDir, `${name}.lua`);
  await writeFile(scriptPath, script);
  const threads = Math.min(settings.threads, settings.connections);
  const args = [
    `-t${threads}`, `-c${settings.connections}`, `-d${settings.durationSeconds}s`, '--latency',
    '--timeout', `${settings.timeoutSeconds}s`, '-s', scriptPath, target.url, '--', String(offset), String(threads),
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`wrk failed (${signal ?? `exit ${code}`}):\n${out}`))));
  });
  const line = output.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (line === undefined) throw new Error(`wrk printed no summary:\n${output}`);
  const j = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkJson;
  const durationSeconds = j.durationUs / 1e6;
  return {
    tool: 'wrk',
    requests: j.requests,
    durationSeconds,
    requestsPerSecond: j.requests / durationSeconds,
    p50Ms: j.p50Us / 1000,
    p99Ms: j.p99Us / 1000,
    non2xx: j.status,
    errors: j.connect + j.read + j.write + j.timeout,
    ...(dynamic ? { distinct: { available: Math.max(0, target.requests.length - offset), issued: j.issued, wrapped: j.wrapped > 0 } } : {}),
    nextOffset: offset + threads * j.maxIssued,
  };
}

// ---------------------------------------------------------------- autocannon

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function runAutocannon(target: LoadTarget, settings: LoadSettings, offset: number): Promise<LoadRun> {
  const [first] = target.requests;
  if (first === undefined) throw new Error('no requests to send');
  // autocannon ships no types; the dynamic import keeps it optional at compile time.
  const specifier = 'autocannon';
  const autocannon = ((await import(specifier)) as { default: Autocannon }).default;
  const dynamic = target.requests.length > 1;
  let pos = offset;
  let wrapped = false;
  const result = await autocannon({
    url: target.url,
    method: target.method,
    connections: settings.connections,
    duration: settings.durationSeconds,
    timeout: settings.timeoutSeconds,
    headers: first.headers,
    body: first.body,
    ...(dynamic
      ? {
          requests: [{
            setupRequest: (req: Record<string, unknown>) => {
              if (pos >= target.requests.length) wrapped = true;
              const r = target.requests[pos % target.requests.length] ?? first;
              pos += 1;
              return { ...req, method: target.method, headers: r.headers, body: r.body };
            },
          }],
        }
      : {}),
  });
  return {
    tool: 'autocannon',
    requests: result.requests.total,
    durationSeconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    ...(dynamic ? { distinct: { available: Math.max(0, target.requests.length - offset), issued: pos - offset, wrapped } } : {}),
    nextOffset: pos,
  };
}
