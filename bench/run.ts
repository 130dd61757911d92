/**
 * `npm run bench`: Latchkey's token endpoint side by side with its peers, in one run on loopback.
 *
 *   (a) bare node:http            (b) Latchkey, cached token
 *   (c) Latchkey, minting always  (d) node-oidc-provider ES256 (RS256 listed for reference)
 *   (x) Latchkey token exchange    (x-dpop) token exchange with a DPoP proof (bench/exchange.ts)
 *
 * then token verification (bench/verify.ts), DPoP-bound against bearer requests at
 * @latchkey/resource (bench/verify-dpop.ts), scale (bench/scale.ts) and revocation propagation
 * (bench/revocation.ts).
 *
 * Prints requests/s, the server's CPU time per request and p50/p99 per scenario, and the ratios b/a,
 * b/d, c/d against their targets (and by CPU per request), then writes docs/benchmarks.md and
 * docs/benchmarks.svg. Settings (environment variables):
 * BENCH_DURATION (s, 10), BENCH_CONNECTIONS (100), BENCH_THREADS (2), BENCH_WARMUP (s, 2),
 * BENCH_ROUNDS (interleaved rounds per scenario, each reporting its median, 5),
 * BENCH_INTEGRATIONS (seeded for (c), 600), BENCH_QUIET_WAIT (s to wait per scenario for other
 * processes to go quiet, 15), BENCH_ONLY (e.g. "a,d"), BENCH_TOOL (wrk|autocannon),
 * BENCH_WRITE_DOCS (1 forces writing docs after a partial run, 0 never writes them),
 * BENCH_CPU_PROF (a directory: the Latchkey server writes a V8 CPU profile there),
 * BENCH_REVOCATIONS (revocations per set-up of the propagation benchmark, 120),
 * BENCH_REVOCATION_POSTGRES_URL (where its PostgreSQL set-up creates its database).
 * BENCH_EXCHANGE_PROOF_RATE (DPoP proofs signed per second of warm-up and run for (x-dpop), 5000).
 * BENCH_ONLY also takes 'verify', 'scale' and 'revocation' (issue 5, 6 and 13's benchmarks),
 * 'exchange' ((x) and (x-dpop) beside (c) and (d), issue 16) and 'dpop-verify' (issue 16).
 * Exit code 1 when a scenario could not run, a measured ratio misses its target or revocation
 * propagation misses p99 < 1 s.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LATCHKEY_BIN, latchkeyCachedScenario, latchkeyMintingScenario, startLatchkey, type LatchkeyTarget } from './latchkey.ts';
import { describeLoad, envNumber, loadSettingsFromEnv, runLoad } from './load.ts';
import { bareHttpScenario, defaultPeersSource, installPeers, oidcProviderScenario } from './peers.ts';
import { installCleanupHandlers, stopAll } from './processes.ts';
import { cpuSnapshot, foreignCpuPercent, waitForQuietMachine } from './cpu.ts';
import { computeRatios, cpuMicrosPerRequest, describeMachine, ratioTable, renderMarkdown, renderSvg, scenarioTable } from './report.ts';
import type { LoadResult, Ratio, Scenario, ScenarioOutcome } from './scenario.ts';
import { runVerifyBenchmarks, type Row as VerifyRow } from './verify.ts';
import { runScaleBenchmarks, SCALE_RATIOS, scaleFigureTable, type ScaleRow } from './scale.ts';
import { propagationPasses, revocationSection, runRevocationBenchmarks, type PropagationRow } from './revocation.ts';
import { LOCAL_POSTGRES_URL } from './postgres.ts';
import { EXCHANGE_KEYS, exchangeDpopScenario, exchangeScenario, exchangeServerOptions } from './exchange.ts';
import { DPOP_RATIOS, dpopVerifySection, runDpopVerifyBenchmarks } from './verify-dpop.ts';
import type { RatioOutcome } from './report.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The targets of issue 2, point 9. */
const RATIOS: Ratio[] = [
  { numerator: 'b', denominator: 'a', target: 0.6 },
  { numerator: 'b', denominator: 'd', target: 10 },
  { numerator: 'c', denominator: 'd', target: 2 },
  // Issue 6: cached throughput with 100,000 integrations against one.
  ...SCALE_RATIOS,
  // Issue 16: token exchanges beside minting and node-oidc-provider, and what DPoP costs; no targets.
  { numerator: 'x', denominator: 'c' },
  { numerator: 'x', denominator: 'd' },
  { numerator: 'x-dpop', denominator: 'x' },
  { numerator: 'x-dpop', denominator: 'd' },
];

/** BENCH_ONLY names that stand for several scenarios. */
const ONLY_GROUPS: Record<string, string[]> = {
  // The exchanges are measured beside (c) minting and (d), in the same run.
  exchange: ['c', 'd', ...EXCHANGE_KEYS],
};

/** Issue 5's verification figures as a Markdown section. */
function verifySection(rows: VerifyRow[]): string {
  const lines = rows.map((r) => {
    const verdict = r.target === null || r.ratio === null ? '' : r.ratio >= r.target ? '✅' : '❌';
    const ratio = r.ratio === null ? '' : `${r.ratio.toFixed(2)}× ${r.baseline ?? ''}`;
    return `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${ratio} | ${r.target === null ? '' : `≥ ${r.target}`} | ${verdict} |`;
  });
  return [
    '## Verifying tokens (issue 5)',
    '',
    'In one process, on one Latchkey token, interleaved rounds (best of each): the cost of checking a token',
    'in an API, from the raw signature check up to a full Environment API read through the middleware.',
    '',
    '| operation | ops/s | ratio | target | |',
    '|---|--:|--:|--:|---|',
    ...lines,
  ].join('\n');
}

/** Above this share of CPU used by other processes during a run, its figures get a warning. */
const OTHER_CPU_WARNING = 10;

const log = (line: string): void => console.log(`[bench] ${line}`);

/** "server CPU 38.2 µs/request" for a log line. */
function describeCpu(result: LoadResult): string {
  const micros = cpuMicrosPerRequest(result);
  return micros === undefined ? 'server CPU not read' : `server CPU ${micros.toFixed(1)} µs/request`;
}

async function main(): Promise<number> {
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'latchkey-bench-'));
  const cleanup = async (): Promise<void> => {
    await stopAll();
    await rm(workDir, { recursive: true, force: true });
  };
  installCleanupHandlers(cleanup);
  try {
    const settings = loadSettingsFromEnv(workDir, log);
    const warmupSeconds = envNumber('BENCH_WARMUP', 2, 0);
    const rounds = envNumber('BENCH_ROUNDS', 5);
    // (c) needs a distinct key per request in a round: 255 scope sets per integration.
    const integrations = envNumber('BENCH_INTEGRATIONS', 600);
    const quietWaitSeconds = envNumber('BENCH_QUIET_WAIT', 15, 0);
    const only = process.env.BENCH_ONLY?.split(',').map((k) => k.trim()).filter(Boolean).flatMap((k) => [k, ...(ONLY_GROUPS[k] ?? [])]);
    const exchangeProofRate = envNumber('BENCH_EXCHANGE_PROOF_RATE', 5000);

    let peersDir = '';
    const peers = (): string => peersDir;
    // (b) and (c) each get a Latchkey of their own, as each peer has its own process, and every
    // round starts every server afresh (a new data directory for Latchkey).
    let latchkeys = 0;
    const latchkey = (name: string, seeded: number) => async (): Promise<LatchkeyTarget> => {
      if (!existsSync(join(repoRoot, LATCHKEY_BIN))) throw new Error(`${LATCHKEY_BIN} does not exist yet`);
      return startLatchkey({ repoRoot, workDir: join(workDir, `${name}-${++latchkeys}`), integrations: seeded, log });
    };
    const scenarios: Scenario[] = [
      bareHttpScenario(peers),
      latchkeyCachedScenario(latchkey('cached', 1)),
      latchkeyMintingScenario(latchkey('minting', integrations)),
      oidcProviderScenario('d', 'ES256', peers),
      oidcProviderScenario('d-rs256', 'RS256', peers),
      exchangeScenario({ start: exchangeServerOptions('exchange', repoRoot, workDir, log) }),
      exchangeDpopScenario({ start: exchangeServerOptions('exchange-dpop', repoRoot, workDir, log), proofs: Math.ceil(exchangeProofRate * (warmupSeconds + settings.durationSeconds)) }),
    ].filter((s) => only === undefined || only.includes(s.key));

    log(`load generator: ${describeLoad(settings)}; warm-up ${warmupSeconds}s per scenario`);
    if (scenarios.some((s) => ['a', 'd', 'd-rs256'].includes(s.key))) {
      const t0 = Date.now();
      peersDir = await installPeers(defaultPeersSource(repoRoot), workDir, log);
      log(`peers installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }

    // Every scenario runs `rounds` times, interleaved (a b c d, a b c d, …), each round on servers
    // started afresh and warmed up, and each scenario reports its median round: a slow or lucky
    // server process (JIT, placement on the cores, GC) or ten seconds of the machine's other work
    // then moves no ratio, and every measurement starts from the same state.
    const outcomes: ScenarioOutcome[] = scenarios.map((s) => ({ key: s.key, name: s.name, notes: [], warnings: [] }));
    const runsOf = new Map<string, { result: LoadResult; otherCpuPercent: number | undefined }[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const [index, scenario] of scenarios.entries()) {
        const outcome = outcomes[index]!;
        if (outcome.error !== undefined) continue;
        try {
          log(`(${scenario.key}) ${scenario.name}: preparing round ${round}/${rounds}`);
          const target = await scenario.prepare();
          let offset = 0;
          if (warmupSeconds > 0) offset = (await runLoad(`${scenario.key}-warmup`, target, { ...settings, durationSeconds: warmupSeconds })).nextOffset;
          const busy = quietWaitSeconds > 0 ? await waitForQuietMachine(OTHER_CPU_WARNING, quietWaitSeconds * 1000) : undefined;
          if (busy !== undefined && busy >= OTHER_CPU_WARNING) log(`(${scenario.key}) the machine stayed busy (${busy.toFixed(0)}% CPU used by other processes); running anyway`);
          const before = cpuSnapshot();
          const result = await runLoad(scenario.key, target, settings, offset);
          const runs = runsOf.get(scenario.key) ?? [];
          runs.push({ result, otherCpuPercent: foreignCpuPercent(before, cpuSnapshot()) });
          runsOf.set(scenario.key, runs);
          log(`(${scenario.key}) round ${round}/${rounds}: ${Math.round(result.requestsPerSecond).toLocaleString('en-US')} requests/s, ${describeCpu(result)}, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
        } catch (err) {
          outcome.error = err instanceof Error ? err.message : String(err);
          log(`(${scenario.key}) did not run: ${outcome.error}`);
        } finally {
          await scenario.stop?.();
        }
      }
    }
    for (const [index, scenario] of scenarios.entries()) {
      const outcome = outcomes[index]!;
      const runs = runsOf.get(scenario.key) ?? [];
      if (outcome.error !== undefined || runs.length === 0) continue;
      const sorted = [...runs].sort((x, y) => x.result.requestsPerSecond - y.result.requestsPerSecond);
      const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
      const result: LoadResult = { ...median.result, ...(median.result.distinct ? { distinct: { ...median.result.distinct, wrapped: runs.some((r) => r.result.distinct?.wrapped) } } : {}) };
      outcome.result = result;
      outcome.otherCpuPercent = Math.max(...runs.map((r) => r.otherCpuPercent ?? 0));
      if (runs.length > 1) {
        const cpu = runs.map((r) => cpuMicrosPerRequest(r.result));
        const cpuNote = cpu.every((c) => c !== undefined) ? `; server CPU ${cpu.map((c) => c.toFixed(1)).join(', ')} µs/request` : '';
        outcome.notes.push(`median of ${runs.length} rounds: ${runs.map((r) => Math.round(r.result.requestsPerSecond).toLocaleString('en-US')).join(', ')} requests/s${cpuNote}`);
      }
      if (outcome.otherCpuPercent > OTHER_CPU_WARNING) {
        outcome.warnings.push(`other processes used up to ${outcome.otherCpuPercent.toFixed(0)}% of the machine's CPU during a run; its figures are skewed`);
      }
      try {
        const after = (await scenario.afterRun?.(result)) ?? {};
        outcome.notes.push(...(after.notes ?? []));
        outcome.warnings.push(...(after.warnings ?? []));
      } catch (err) {
        outcome.warnings.push(`the check after the run failed: ${(err as Error).message}`);
      }
      const non2xx = runs.reduce((n, r) => n + r.result.non2xx, 0);
      const errors = runs.reduce((n, r) => n + r.result.errors, 0);
      if (non2xx > 0 || errors > 0) outcome.warnings.push(`${non2xx} non-2xx responses and ${errors} socket errors/timeouts over the measured runs`);
      log(`(${scenario.key}) median: ${Math.round(result.requestsPerSecond).toLocaleString('en-US')} requests/s, ${describeCpu(result)}, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
      for (const n of outcome.notes) log(`(${scenario.key}) ${n}`);
      for (const w of outcome.warnings) log(`(${scenario.key}) WARNING: ${w}`);
    }

    const sections: string[] = [];
    if (only === undefined || only.includes('verify')) {
      try {
        log('(verify) token verification micro-benchmarks');
        const rows = await runVerifyBenchmarks({ log });
        sections.push(verifySection(rows));
        for (const r of rows) log(`(verify) ${r.name}: ${Math.round(r.opsPerSec)} ops/s${r.ratio === null ? '' : `, ${r.ratio.toFixed(2)}x ${r.baseline}`}`);
      } catch (err) {
        log(`(verify) did not run: ${(err as Error).message}`);
        sections.push(`## Verifying tokens (issue 5)\n\nDid not run: ${(err as Error).message}`);
      }
    }
    const dpopVerifyRatios: RatioOutcome[] = [];
    if (only === undefined || only.includes('dpop-verify')) {
      try {
        log('(dpop-verify) @latchkey/resource: DPoP-bound against bearer requests');
        const rows = await runDpopVerifyBenchmarks({ log: (line) => log(`(dpop-verify) ${line}`) });
        sections.push(dpopVerifySection(rows));
        for (const r of rows) log(`(dpop-verify) ${r.name}: ${Math.round(r.opsPerSec)} ops/s${r.ratio === null ? '' : `, ${r.ratio}x ${r.baseline}`}`);
        for (const ratio of DPOP_RATIOS) {
          const row = rows.find((r) => r.name === ratio.numerator && r.baseline === ratio.denominator);
          if (row?.ratio != null) dpopVerifyRatios.push({ numerator: 'DPoP', denominator: `Bearer, ${ratio.label}`, value: row.ratio });
        }
      } catch (err) {
        log(`(dpop-verify) did not run: ${(err as Error).message}`);
        outcomes.push({ key: 'dpop-verify', name: 'DPoP-bound against bearer requests', notes: [], warnings: [], error: (err as Error).message });
        sections.push(`## Verifying DPoP-bound requests (issue 16)\n\nDid not run: ${(err as Error).message}`);
      }
    }
    if (only === undefined || only.includes('scale')) {
      try {
        const scaleRows: ScaleRow[] = await runScaleBenchmarks({ repoRoot, workDir, settings, log, warmupSeconds, postgresUrl: process.env.BENCH_SCALE_POSTGRES_URL });
        outcomes.push(...scaleRows);
        sections.push(`## Scale (issue 6)\n\n${scaleFigureTable(scaleRows)}`);
      } catch (err) {
        outcomes.push({ key: 'scale', name: 'scale benchmarks', notes: [], warnings: [], error: (err as Error).message });
      }
    }
    let revocationRows: PropagationRow[] = [];
    if (only === undefined || only.includes('revocation')) {
      revocationRows = await runRevocationBenchmarks({
        repoRoot,
        workDir,
        log,
        revocations: envNumber('BENCH_REVOCATIONS', 120),
        postgresUrl: process.env.BENCH_REVOCATION_POSTGRES_URL ?? LOCAL_POSTGRES_URL,
        quietWaitSeconds,
      });
      sections.push(revocationSection(revocationRows));
    }

    const ratios = computeRatios(RATIOS, outcomes);
    console.log(`\n${scenarioTable(outcomes)}\n\n${ratioTable(ratios)}\n`);
    const dpopSection = sections.find((section) => section.startsWith('## Verifying DPoP-bound'));
    if (dpopSection !== undefined) console.log(`${dpopSection}\n`);
    if (revocationRows.length > 0) console.log(`${revocationSection(revocationRows)}\n`);

    const complete = only === undefined && outcomes.every((o) => o.result !== undefined);
    const writeDocs = process.env.BENCH_WRITE_DOCS === '1' || (process.env.BENCH_WRITE_DOCS !== '0' && complete);
    if (writeDocs) {
      const machine = describeMachine(settings.tool);
      const envPrefix = ['BENCH_DURATION', 'BENCH_CONNECTIONS', 'BENCH_THREADS', 'BENCH_WARMUP', 'BENCH_ROUNDS', 'BENCH_INTEGRATIONS', 'BENCH_QUIET_WAIT', 'BENCH_ONLY', 'BENCH_TOOL', 'BENCH_REVOCATIONS', 'BENCH_EXCHANGE_PROOF_RATE']
        .filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]} `).join('');
      const notes = [
        ...outcomes.flatMap((o) => o.notes.map((n) => `(${o.key}) ${n}.`)),
        'ORY Hydra publishes 411 requests/s for this grant on 2 CPUs (hey, in-memory store, BCrypt cost 8); not measured here.',
      ];
      const markdown = renderMarkdown({
        machine,
        command: `${envPrefix}npm run bench`,
        loadCommand: describeLoad(settings),
        settings: { threads: settings.threads, connections: settings.connections, durationSeconds: settings.durationSeconds, warmupSeconds, quietWaitSeconds, rounds },
        outcomes,
        ratios,
        notes,
        sections,
      });
      const caption = `${machine.date.slice(0, 10)} · ${machine.cpus} × ${machine.cpuModel} · Node ${machine.node} · ${settings.tool} -c${settings.connections} -d${settings.durationSeconds}s`;
      await mkdir(join(repoRoot, 'docs'), { recursive: true });
      await writeFile(join(repoRoot, 'docs', 'benchmarks.md'), markdown);
      const busiest = Math.max(0, ...outcomes.map((o) => o.otherCpuPercent ?? 0));
      const busyWarning = busiest > OTHER_CPU_WARNING ? `measured on a busy machine: other processes used up to ${busiest.toFixed(0)}% of the CPU` : undefined;
      await writeFile(join(repoRoot, 'docs', 'benchmarks.svg'), renderSvg([...ratios, ...dpopVerifyRatios], caption, busyWarning));
      log('wrote docs/benchmarks.md and docs/benchmarks.svg');
    } else {
      log(complete ? 'docs not written (BENCH_WRITE_DOCS=0)' : 'partial run: docs/benchmarks.md not written (BENCH_WRITE_DOCS=1 forces it)');
    }
    log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const failed = outcomes.some((o) => o.error !== undefined) || ratios.some((r) => r.pass === false) || revocationRows.some((r) => !propagationPasses(r));
    return failed ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    await stopAll();
    process.exit(1);
  },
);
