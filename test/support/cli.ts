import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from here, as `npx latchkey …` would. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The real `latchkey` executable (the `bin` of packages/server). */
export const LATCHKEY_BIN = fileURLToPath(new URL('../../packages/server/bin/latchkey.js', import.meta.url));

/** What one CLI run printed and how it ended. */
export interface CliResult {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a CLI child gets: the parent's, minus every LATCHKEY_* / PORT / HOST variable
 * (so a developer's shell cannot leak into a test), plus `env`.
 */
export function cliEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('LATCHKEY_') || name === 'PORT' || name === 'HOST') continue;
    base[name] = value;
  }
  return { ...base, ...env };
}

/** What a finished child process printed and how it ended. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and collects its output; `input` is written to its stdin. A run that
 * outlives `timeoutMs` is killed (SIGKILL) and reported with `signal` set. The one runner the test
 * suites share (CLI, README examples).
 */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/**
 * Runs `node packages/server/bin/latchkey.js …args` as a child process and collects its output.
 * A run that outlives `timeoutMs` is killed (SIGKILL) and reported with `signal` set.
 */
export async function runCli(args: string[], env: Record<string, string>, options: { timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  const result = await runProcess(process.execPath, [LATCHKEY_BIN, ...args], { cwd: REPO_ROOT, env: cliEnvironment(env), ...options });
  return { args, ...result };
}

/** One-line description of a run, for assertion messages. */
export function describeRun(result: CliResult): string {
  return `latchkey ${result.args.join(' ')} → exit ${result.code}${result.signal ? ` (${result.signal})` : ''}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}
