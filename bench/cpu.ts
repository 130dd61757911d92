/**
 * CPU accounting from /proc (Linux only; elsewhere the figures are simply absent):
 * - how much of the machine's CPU went to processes that are not part of the benchmark while a
 *   scenario ran. On a shared 2-core box a test suite running next to the benchmark skews the
 *   ratios, so each result carries this figure and a warning when it is high;
 * - how much CPU time the server under test spent, so each throughput figure has its CPU time per
 *   request beside it. The load generator shares the cores, so requests/s swings by ±30% from run
 *   to run; CPU per request depends far less on who else got the cores, and is what "not slower"
 *   is judged by.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU counters at one instant, in clock ticks. */
export interface CpuSnapshot {
  total: number;
  idle: number;
  ours: number;
}

function readProcStat(pid: string): { ppid: number; pgrp: number; ticks: number; childTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces (proc(5)):
    // state ppid pgrp … utime(14) stime(15) cutime(16) cstime(17), counted here from state = 0.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number): number => Number(f[i] ?? 0);
    return { ppid: n(1), pgrp: n(2), ticks: n(11) + n(12), childTicks: n(13) + n(14) };
  } catch {
    return undefined;
  }
}

function readClockTicks(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return out.status === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

let clockTicks: number | undefined;
/** Clock ticks per second of /proc's CPU times: `getconf CLK_TCK`, or 100 (Linux's USER_HZ) when that fails. */
export function clockTicksPerSecond(): number {
  clockTicks ??= readClockTicks();
  return clockTicks;
}

/**
 * CPU time (user + system, every thread) used so far by the processes of one process group, in
 * seconds: a server started by `startServer` leads its own group, so this is the server, or a
 * cluster primary with all its workers. Reaped children count through their parent's cutime/cstime,
 * so a worker that exits between two readings is not lost. Undefined where /proc is unavailable or
 * the group has no process left.
 */
export function processGroupCpuSeconds(pgid: number): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  let ticks = 0;
  let members = 0;
  for (const pid of pids) {
    const s = readProcStat(pid);
    if (s === undefined || s.pgrp !== pgid) continue;
    members++;
    ticks += s.ticks + s.childTicks;
  }
  return members === 0 ? undefined : ticks / clockTicksPerSecond();
}

/**
 * Takes a snapshot: total and idle ticks of the machine, and ticks of this process and its
 * descendants (servers, the load generator; reaped children count through this process's cutime).
 */
export function cpuSnapshot(): CpuSnapshot | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const cpu = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const s = readProcStat(pid);
    if (s) procs.set(Number(pid), s);
  }
  const isOurs = (pid: number): boolean => {
    for (let cur = pid, hops = 0; cur > 1 && hops < 64; hops++) {
      if (cur === process.pid) return true;
      cur = procs.get(cur)?.ppid ?? 0;
    }
    return false;
  };
  let ours = readProcStat(String(process.pid))?.childTicks ?? 0;
  for (const [pid, s] of procs) if (isOurs(pid)) ours += s.ticks;
  return { total, idle, ours };
}

/** Percentage of the machine's CPU capacity used by other processes between two snapshots. */
export function foreignCpuPercent(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined): number | undefined {
  if (!before || !after) return undefined;
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  const busy = total - (after.idle - before.idle);
  const foreign = Math.max(0, busy - (after.ours - before.ours));
  return (foreign / total) * 100;
}

/**
 * Waits (at most `maxMs`) for a one-second window in which other processes use less than
 * `thresholdPercent` of the CPU, so a scenario does not start in the middle of someone's test run.
 * Returns the last measured share (undefined where /proc is unavailable).
 */
export async function waitForQuietMachine(thresholdPercent: number, maxMs: number): Promise<number | undefined> {
  const deadline = Date.now() + maxMs;
  let share: number | undefined;
  do {
    const before = cpuSnapshot();
    await new Promise((r) => setTimeout(r, 1000));
    share = foreignCpuPercent(before, cpuSnapshot());
    if (share === undefined || share < thresholdPercent) return share;
  } while (Date.now() < deadline);
  return share;
}
