/**
 * Child processes of the benchmark. Every server is started through `startServer` so that one
 * `stopAll` (also run on SIGINT, SIGTERM, errors and exit) leaves nothing behind. Servers get their
 * own process group, so a server that forks workers is stopped with them.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

/** A started server process with the tail of its output, for error messages. */
export interface ServerProcess {
  name: string;
  child: ChildProcess;
  /** Last lines of stdout and stderr. */
  tail(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
/** Servers being stopped on purpose (stopServer): their exit is expected. */
const retiring = new Set<ChildProcess>();
/** Set once cleanup starts: nothing new may start, and exits are expected. */
let stopping = false;

function refuseWhenStopping(what: string): void {
  if (stopping) throw new Error(`not starting ${what}: the benchmark is stopping`);
}

/** Starts a long-running process in its own process group and tracks it for `stopAll`. */
export function startServer(name: string, command: string, args: string[], options: SpawnOptions): ServerProcess {
  refuseWhenStopping(name);
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      // A server that dies mid-run explains the errors that follow; say so at once.
      if (!stopping && !retiring.delete(child)) console.error(`[bench] ${name} exited unexpectedly (${signal ?? `exit ${code}`}):\n${lines.slice(-10).join('\n')}`);
      resolve(code);
    });
    child.on('error', (err) => {
      lines.push(String(err));
      running.delete(child);
      resolve(null);
    });
  });
  return { name, child, tail: () => lines.join('\n'), exited };
}

/** Stops one server (and its process group): SIGTERM, then SIGKILL after `graceMs`. */
export async function stopServer(server: ServerProcess, graceMs = 3000): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  retiring.add(server.child);
  signalGroup(server.child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(server.child, 'SIGKILL'), graceMs);
  await server.exited;
  clearTimeout(timer);
}

/** Tracks a short-lived child (the load generator) so an interrupt stops it too. */
export function track(child: ChildProcess): void {
  if (stopping) {
    child.kill('SIGKILL');
    return;
  }
  running.add(child);
  child.on('exit', () => running.delete(child));
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the whole group (detached servers)
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Stops every tracked process: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(graceMs = 3000): Promise<void> {
  stopping = true;
  const children = [...running];
  if (children.length === 0) return;
  const gone = children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
  for (const c of children) signalGroup(c, 'SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([Promise.all(gone), timer])) === 'timeout') {
    for (const c of running) signalGroup(c, 'SIGKILL');
    await Promise.race([Promise.all(gone), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/** Last resort on process exit: synchronous SIGKILL to whatever is still tracked. */
function killAllNow(): void {
  for (const c of running) signalGroup(c, 'SIGKILL');
}

/** Installs the handlers that stop every child on SIGINT/SIGTERM and on exit. */
export function installCleanupHandlers(cleanup: () => Promise<void>): void {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping benchmark processes…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the tiny race is acceptable on loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Waits until `url` answers (any HTTP status counts as "listening" unless `expectStatus` is given),
 * failing early if the server process exits.
 */
export async function waitForHttp(server: ServerProcess, url: string, timeoutMs = 30_000, expectStatus?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  let last = '';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${server.name} exited before listening:\n${server.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (expectStatus === undefined || res.status === expectStatus) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.name} did not answer ${url} within ${timeoutMs} ms (${last}):\n${server.tail()}`);
}

/** Runs a command to completion, returning its output; rejects on a non-zero exit. */
export function runCommand(command: string, args: string[], options: SpawnOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    refuseWhenStopping(command);
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${(stderr || stdout).trim().slice(-2000)}`));
    });
  });
}
