/**
 * How much of the machine's CPU went to processes that are not part of the benchmark while a
 * scenario ran. On a shared 2-core box a test suite running next to the benchmark skews the
 * ratios, so each result carries this figure and a warning when it is high. Linux only (/proc);
 * elsewhere the figure is simply absent.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU counters at one instant, in clock ticks. */
export interface CpuSnapshot {
  total: number;
  idle: number;
  ours: number;
}

function readProcStat(pid: string): { ppid: number; ticks: number; childTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number): number => Number(f[i] ?? 0);
    return { ppid: n(1), ticks: n(11) + n(12), childTicks: n(13) + n(14) };
  } catch {
    return undefined;
  }
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
