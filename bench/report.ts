/**
 * The benchmark's outputs: a console table, docs/benchmarks.md and docs/benchmarks.svg (a
 * hand-written bar chart of the ratios against their targets; no chart dependency).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { LoadResult, Ratio, ScenarioOutcome } from './scenario.ts';

/** The machine and software the figures were measured on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  loadTool: string;
  date: string;
}

/** Reads nproc, the CPU model, memory, the Node version and the load generator's version. */
export function describeMachine(tool: 'wrk' | 'autocannon'): MachineInfo {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    /* not Linux */
  }
  const loadTool = tool === 'wrk'
    ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0]?.replace(/Copyright.*$/, '').trim() || 'wrk')
    : 'autocannon 9 (in-process)';
  return {
    cpus: availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadTool,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

/** Microseconds of server CPU time per completed request of a run, when its server's CPU was read. */
export function cpuMicrosPerRequest(result: LoadResult | undefined): number | undefined {
  if (result?.serverCpuSeconds === undefined || result.requests === 0) return undefined;
  return (result.serverCpuSeconds * 1e6) / result.requests;
}

/**
 * A computed ratio; `value` is undefined when a side did not run. `cpuValue` is the same comparison
 * by server CPU time per request (the denominator's µs ÷ the numerator's, so that, like `value`,
 * above 1 means the numerator does more with the CPU); the target applies to `value` only.
 */
export interface RatioOutcome extends Ratio {
  value?: number;
  pass?: boolean;
  cpuValue?: number;
}

/** Computes each ratio of requests per second, and of server CPU per request, from the outcomes. */
export function computeRatios(ratios: Ratio[], outcomes: ScenarioOutcome[]): RatioOutcome[] {
  const resultOf = (key: string): LoadResult | undefined => outcomes.find((o) => o.key === key)?.result;
  return ratios.map((r) => {
    const n = resultOf(r.numerator);
    const d = resultOf(r.denominator);
    const nCpu = cpuMicrosPerRequest(n);
    const dCpu = cpuMicrosPerRequest(d);
    const cpu = nCpu !== undefined && dCpu !== undefined && nCpu > 0 ? { cpuValue: dCpu / nCpu } : {};
    if (n === undefined || d === undefined || d.requestsPerSecond === 0) return { ...r, ...cpu };
    const value = n.requestsPerSecond / d.requestsPerSecond;
    return { ...r, ...cpu, value, ...(r.target === undefined ? {} : { pass: value >= r.target }) };
  });
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtRatio = (n: number): string => (n < 0.1 ? n.toPrecision(2) : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtMicros = (n: number | undefined): string => (n === undefined ? '—' : n < 100 ? n.toFixed(1) : fmtInt(n));
const ratioName = (r: Ratio): string => `${r.numerator}/${r.denominator}`;

/** The scenario table as Markdown rows (also printed to the console). */
export function scenarioTable(outcomes: ScenarioOutcome[]): string {
  const rows = ['| | scenario | requests/s | server CPU µs/request | p50 ms | p99 ms | requests | non-2xx / errors | other CPU |', '|---|---|--:|--:|--:|--:|--:|--:|--:|'];
  for (const o of outcomes) {
    const r = o.result;
    rows.push(r === undefined
      ? `| ${o.key} | ${o.name} | — | — | — | — | — | did not run | |`
      : `| ${o.key} | ${o.name} | ${fmtInt(r.requestsPerSecond)} | ${fmtMicros(cpuMicrosPerRequest(r))} | ${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ${fmtInt(r.requests)} | ${r.non2xx} / ${r.errors} | ${o.otherCpuPercent === undefined ? '—' : `${o.otherCpuPercent.toFixed(0)}%`} |`);
  }
  return rows.join('\n');
}

/** The ratio table as Markdown rows. */
export function ratioTable(ratios: RatioOutcome[]): string {
  const rows = ['| ratio | measured (requests/s) | target | | by server CPU/request |', '|---|--:|--:|---|--:|'];
  for (const r of ratios) {
    const verdict = r.value === undefined ? 'not measured' : r.pass === undefined ? 'reported (no target)' : r.pass ? '✅ pass' : '❌ FAIL';
    rows.push(`| ${ratioName(r)} | ${r.value === undefined ? '—' : fmtRatio(r.value)} | ${r.target === undefined ? '—' : `≥ ${r.target}`} | ${verdict} | ${r.cpuValue === undefined ? '—' : fmtRatio(r.cpuValue)} |`);
  }
  return rows.join('\n');
}

/** Everything docs/benchmarks.md says. */
export interface ReportInput {
  machine: MachineInfo;
  command: string;
  loadCommand: string;
  settings: { threads: number; connections: number; durationSeconds: number; warmupSeconds: number; quietWaitSeconds: number; rounds: number };
  outcomes: ScenarioOutcome[];
  ratios: RatioOutcome[];
  notes: string[];
  /** Further sections (Markdown, each starting with a '## ' heading), placed after the results. */
  sections?: string[];
}

/** docs/benchmarks.md */
export function renderMarkdown(input: ReportInput): string {
  const { machine: m, settings: s } = input;
  const warnings = input.outcomes.flatMap((o) => [...o.warnings.map((w) => `${o.key}: ${w}`), ...(o.error ? [`${o.key}: did not run: ${o.error}`] : [])]);
  return `# Benchmarks

Generated by \`${input.command}\` on ${m.date}. Do not edit by hand; run the benchmark again.

![ratios against targets](benchmarks.svg)

## Results

${scenarioTable(input.outcomes)}

${ratioTable(input.ratios)}
${(input.sections ?? []).map((section) => `\n${section}\n`).join('')}
## Machine

- CPUs: ${m.cpus} × ${m.cpuModel}
- Memory: ${m.memoryGiB} GiB
- Node.js: ${m.node}
- Load generator: ${m.loadTool}

## Method

${s.rounds} rounds of every scenario on loopback (127.0.0.1), interleaved (a, b, c, d, …, then again),
with the load generator on the same ${m.cpus} cores as the server under test, so the figures are only
meaningful as ratios taken in the same run. Every round starts each server afresh (a new data
directory for Latchkey) and warms it up for ${s.warmupSeconds} seconds, not counted; each scenario's
row is its median round (all rounds are listed in the notes), so one slow or lucky server process
(JIT, placement on the cores, GC) moves no ratio. Each round runs
\`${input.loadCommand}\` (${s.threads} threads, ${s.connections} connections, ${s.durationSeconds} s).
Requests/s is completed requests divided by the measured duration; p50/p99 are the load generator's
latency percentiles. Every request is a \`POST\` with Basic client authentication and a form body.
"Server CPU µs/request" is the CPU time (user + system, every thread; a \`--workers\` cluster's
primary and workers together) the server's processes used during the measured run, read from
/proc/<pid>/stat right before and after it, divided by the completed requests. The load generator
shares the cores, so requests/s swings by up to ±30% with how the cores are shared, while CPU per
request moves far less: "not slower" is judged by it. In the ratio table, "by server CPU/request" is the
same comparison made with it (the denominator's µs ÷ the numerator's, so above 1 means the
numerator costs less per request); the targets apply to the requests/s ratio.
"Other CPU" is the share of the machine's CPU used by processes outside the benchmark during the
measured run (from /proc): a few percent is background noise; much more means that row is skewed.
Before each measured run the benchmark waits up to ${s.quietWaitSeconds} s for a quiet second on the machine.

- (a) the bare \`node:http\` peer from \`shared/peers\`: reads the body (a token request of the
  same size, Basic header included) and answers a small JSON.
- (b) Latchkey \`POST /oauth/token\`, the same client and scopes every time: the server answers
  from its token cache. (b) and (c) each run against a Latchkey of their own, as each peer runs in
  its own process.
- (c) Latchkey \`POST /oauth/token\` with a different (integration, scope set) on every request —
  many integrations with all 8 Environment API scopes, every non-empty scope subset, shuffled and
  sent without repeats — so every request mints and signs a new token.
- (d) node-oidc-provider v9 from \`shared/peers\`, ES256 JWT access tokens, client credentials
  grant; it signs a new token on every request. RS256 is listed for reference only.
- (x) Latchkey \`POST /oauth/token\` with the token exchange grant (RFC 8693), as a backend asks for
  a browser token: Basic authentication as an integration allowed browser tokens, its own cached
  access token (all scopes) as \`subject_token\`, the same request every time; every exchange verifies
  the subject token and mints a read-only browser token (never cached). A Latchkey of its own.
- (x-dpop) the same exchange with a \`DPoP\` header carrying a proof never sent before (RFC 9449;
  ES256, one key, signed in the benchmark process before the warm-up): the server checks the proof,
  records its \`jti\` and mints a token bound to the key (\`cnf.jkt\`). A Latchkey of its own.
${input.notes.length > 0 ? `\n## Notes\n\n${input.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}${warnings.length > 0 ? `\n## Warnings from this run\n\n${warnings.map((w) => `- ${w}`).join('\n')}\n` : ''}`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Panels per row of the SVG: more ratios wrap onto further rows. */
const SVG_PANELS_PER_ROW = 5;

/**
 * docs/benchmarks.svg: one small panel per ratio, each with its own scale (b/a is near 1, b/d near
 * 10+), the measured bar (green when it meets the target, red when not, blue when no issue gives it
 * a target) and a dashed target line; five panels a row.
 */
export function renderSvg(ratios: RatioOutcome[], caption: string, warning?: string): string {
  const panelW = 220;
  const top = 50;
  const plotH = 200;
  const rowH = plotH + 50;
  const rows = Math.max(1, Math.ceil(ratios.length / SVG_PANELS_PER_ROW));
  const width = panelW * Math.min(Math.max(1, ratios.length), SVG_PANELS_PER_ROW) + 20;
  const height = top + rows * rowH + 45;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Latchkey throughput ratios vs. targets</text>`,
  ];
  if (warning) parts.push(`<text x="${width / 2}" y="36" text-anchor="middle" font-size="11" fill="#c0392b">${esc(warning)}</text>`);
  ratios.forEach((r, i) => {
    const x0 = 10 + (i % SVG_PANELS_PER_ROW) * panelW;
    const base = top + Math.floor(i / SVG_PANELS_PER_ROW) * rowH + plotH;
    // Without a target, a dotted line at 1 (parity with the denominator) gives the bar its scale.
    const reference = r.target ?? 1;
    const max = Math.max(r.value ?? 0, reference) * 1.25;
    const y = (v: number): number => base - (v / max) * plotH;
    const barX = x0 + 40; // bar on the left, target label on the right, so they never overlap
    parts.push(`<line x1="${x0 + 20}" y1="${base}" x2="${x0 + panelW - 20}" y2="${base}" stroke="#333"/>`);
    if (r.value !== undefined) {
      const color = r.pass === undefined ? '#2c6fbb' : r.pass ? '#2e8b57' : '#c0392b';
      parts.push(`<rect x="${barX}" y="${y(r.value).toFixed(1)}" width="60" height="${(base - y(r.value)).toFixed(1)}" fill="${color}"/>`);
      parts.push(`<text x="${barX + 30}" y="${(y(r.value) - 6).toFixed(1)}" text-anchor="middle" font-weight="bold">${fmtRatio(r.value)}</text>`);
    } else {
      parts.push(`<text x="${barX + 30}" y="${base - 10}" text-anchor="middle" fill="#777">not measured</text>`);
    }
    if (r.target !== undefined) {
      const ty = y(r.target).toFixed(1);
      parts.push(`<line x1="${x0 + 20}" y1="${ty}" x2="${x0 + panelW - 20}" y2="${ty}" stroke="#555" stroke-dasharray="5,4"/>`);
      parts.push(`<text x="${barX + 68}" y="${(Number(ty) - 4).toFixed(1)}" fill="#555" font-size="11">target ≥ ${r.target}</text>`);
    } else {
      const ty = y(reference).toFixed(1);
      parts.push(`<line x1="${x0 + 20}" y1="${ty}" x2="${x0 + panelW - 20}" y2="${ty}" stroke="#999" stroke-dasharray="2,3"/>`);
      parts.push(`<text x="${barX + 68}" y="${(Number(ty) - 4).toFixed(1)}" fill="#555" font-size="11">1× · no target</text>`);
    }
    parts.push(`<text x="${barX + 30}" y="${base + 20}" text-anchor="middle" font-size="13">${esc(ratioName(r))}${r.pass === undefined ? '' : r.pass ? ' ✓' : ' ✗'}</text>`);
  });
  parts.push(`<text x="${width / 2}" y="${height - 36}" text-anchor="middle" fill="#555" font-size="11">${esc(caption)}</text>`);
  parts.push(`<text x="${width / 2}" y="${height - 22}" text-anchor="middle" fill="#555" font-size="11">a = bare node:http · b = Latchkey cached · c = Latchkey minting · d = node-oidc-provider ES256</text>`);
  parts.push(`<text x="${width / 2}" y="${height - 8}" text-anchor="middle" fill="#555" font-size="11">x = token exchange · x-dpop = token exchange with a DPoP proof · DPoP/Bearer = @latchkey/resource verifying a request</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
