/**
 * `@latchkey/resource` verifying a DPoP-bound request against a plain bearer request (issue 16,
 * point 7), in one process with no sockets, like bench/verify.ts. Two browser tokens from the same
 * token exchange of one in-process Latchkey — one without DPoP (Bearer), one bound to an ES256 key
 * (`cnf.jkt`) — so the only differences are the binding and the proof. Each row is
 * `verifier.verifyRequest()`, what the Fastify and Express middlewares call per request:
 *
 *   1. Bearer browser token, first sight (verified-token cache off)
 *   2. DPoP-bound browser token + a new proof, first sight .................. ratio to (1)
 *   3. Bearer browser token, repeated token (verified-token cache)
 *   4. DPoP-bound browser token + a new proof, repeated token (cache) ....... ratio to (3)
 *   5. `verifyDpopProof` alone (signature, htm, htu, iat, ath, jti): the part (4) cannot cache
 *
 * Every DPoP request carries a proof never used before (single-use `jti`, checked), signed before
 * its timed batch with one key (`dpop-proofs.ts`): a row's figure is a timed batch of operations
 * sized from a short pilot to last BENCH_VERIFY_MS ÷ BENCH_VERIFY_ROUNDS, after a warm-up batch;
 * rounds are interleaved and each row keeps its best. No targets (the issue gives none): the figures
 * and the ratios are reported. Runs alone: `node --import tsx bench/verify-dpop.ts`.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { AccessTokenError, createMemoryDpopReplayStore, createVerifier, verifyDpopProof, type BearerRequest } from '@latchkey/resource';
import { startInProcessLatchkey } from './in-process-latchkey.ts';
import { SYSTEM_CONTEXT } from '../packages/server/src/platform/audit.ts';
import { createEnvironment } from '../packages/server/src/platform/environments.ts';
import { createIntegration } from '../packages/server/src/platform/integrations.ts';
import { createInjectFetch } from '../packages/server/src/support/inject-fetch.ts';
import { createDpopSigner } from './dpop-proofs.ts';
import { TOKEN_EXCHANGE_GRANT } from './exchange.ts';
import type { Row } from './verify.ts';

const NAMES = {
  bearerFirst: 'Bearer browser token, first sight (cache off)',
  dpopFirst: 'DPoP-bound browser token + new proof, first sight (cache off)',
  bearerCached: 'Bearer browser token, repeated token (cache)',
  dpopCached: 'DPoP-bound browser token + new proof, repeated token (cache)',
  proof: 'verifyDpopProof alone (the per-request proof check)',
} as const;
type Key = keyof typeof NAMES;

/** Options of {@link runDpopVerifyBenchmarks}. */
export interface DpopVerifyOptions {
  /** Measured milliseconds per row, split over the rounds. Default BENCH_VERIFY_MS or 3000. */
  durationMs?: number;
  /** Interleaved rounds; each row reports its best. Default BENCH_VERIFY_ROUNDS or 3. */
  rounds?: number;
  log?: (line: string) => void;
}

/** One row's operation: `prepare(n)` makes what n operations consume (proofs), untimed; `run(i)` is operation i. */
interface Operation {
  prepare?: (count: number) => void;
  run: (i: number) => Promise<unknown>;
}

/** Runs operations 0..count-1 back to back and returns operations per second. */
async function timeBatch(operation: Operation, count: number): Promise<number> {
  operation.prepare?.(count);
  const start = performance.now();
  for (let i = 0; i < count; i++) await operation.run(i);
  return (count * 1000) / (performance.now() - start);
}

/** A pilot, a warm-up batch of about a quarter of `durationMs`, then a timed batch of about `durationMs`. */
async function measure(operation: Operation, durationMs: number): Promise<number> {
  const batch = (rate: number, ms: number): number => Math.max(64, Math.round((rate * ms) / 1000));
  const pilot = await timeBatch(operation, 64);
  const warm = await timeBatch(operation, batch(pilot, Math.max(100, durationMs / 4)));
  return timeBatch(operation, batch(warm, durationMs));
}

/** Measures the five rows on one fresh in-process Latchkey (SQLite in a temporary directory). */
export async function runDpopVerifyBenchmarks(options: DpopVerifyOptions = {}): Promise<Row[]> {
  const durationMs = options.durationMs ?? Number(process.env.BENCH_VERIFY_MS ?? 3000);
  const rounds = Math.max(1, options.rounds ?? Number(process.env.BENCH_VERIFY_ROUNDS ?? 3));
  const log = options.log ?? (() => undefined);
  const latchkey = await startInProcessLatchkey('latchkey-bench-dpop-');
  const { config, runtime, app } = latchkey;
  try {
    await createEnvironment(runtime.platform, { id: 'bench' }, SYSTEM_CONTEXT);
    const { integration, clientSecret } = await createIntegration(
      runtime.platform,
      { environmentId: 'bench', name: 'backend', grants: { 'environment-api': runtime.apis.presetScopes('all') }, browserTokens: true },
      SYSTEM_CONTEXT,
    );
    const post = async (form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ access_token: string; token_type: string }> => {
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: new URLSearchParams({ client_id: integration.clientId, client_secret: clientSecret, ...form }).toString(),
      });
      if (response.statusCode !== 200) throw new Error(`token request failed: ${response.statusCode} ${response.body}`);
      return response.json();
    };
    const subject = (await post({ grant_type: 'client_credentials' })).access_token;
    const exchange = { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' };
    const signer = createDpopSigner();
    const bearer = await post(exchange);
    const bound = await post(exchange, { dpop: signer.proof('POST', `${config.issuer}/oauth/token`) });
    if (bearer.token_type !== 'Bearer' || bound.token_type !== 'DPoP') throw new Error(`token types ${bearer.token_type} and ${bound.token_type}, expected Bearer and DPoP`);

    // A request to an API of this issuer, as the middleware describes it to verifyRequest.
    const path = '/api/v1/environments/bench/templates';
    const htu = `${config.issuer}${path}`;
    const verifierOptions = { issuer: config.issuer, audience: config.environmentApiAudience, fetch: createInjectFetch(app, config.issuer), revocation: { source: runtime.revocations } };
    const uncached = createVerifier({ ...verifierOptions, cacheSize: 0 });
    const cached = createVerifier(verifierOptions);
    const bearerRequest: BearerRequest = { authorization: `Bearer ${bearer.access_token}`, url: path, method: 'GET' };
    const dpopAuthorization = `DPoP ${bound.access_token}`;

    // Proofs for the next batch, signed before it is timed; each used once.
    let proofs: string[] = [];
    const sign = (count: number): void => {
      proofs = signer.proofs(count, 'GET', htu, bound.access_token);
    };
    const dpopRequest = (i: number): BearerRequest => ({ authorization: dpopAuthorization, url: path, method: 'GET', htu, dpop: proofs[i] });
    const proofReplay = createMemoryDpopReplayStore();

    // What each row must refuse, or it would not be measuring what it says.
    for (const verifier of [uncached, cached]) {
      await verifier.verifyRequest(bearerRequest); // loads the JWKS
      sign(1);
      await verifier.verifyRequest(dpopRequest(0));
      await expectRefusal(() => verifier.verifyRequest(dpopRequest(0)), 'ERR_DPOP_PROOF_INVALID', 'a replayed proof');
      await expectRefusal(() => verifier.verifyRequest({ ...bearerRequest, authorization: `Bearer ${bound.access_token}` }), 'ERR_TOKEN_DPOP_BOUND', 'the bound token as a bearer');
    }

    const operations: Record<Key, Operation> = {
      bearerFirst: { run: () => uncached.verifyRequest(bearerRequest) },
      dpopFirst: { prepare: sign, run: (i) => uncached.verifyRequest(dpopRequest(i)) },
      bearerCached: { run: () => cached.verifyRequest(bearerRequest) },
      dpopCached: { prepare: sign, run: (i) => cached.verifyRequest(dpopRequest(i)) },
      proof: { prepare: sign, run: (i) => verifyDpopProof({ proof: proofs[i]!, method: 'GET', url: htu, accessToken: bound.access_token, replay: proofReplay }) },
    };
    const figures: Record<Key, number> = { bearerFirst: 0, dpopFirst: 0, bearerCached: 0, dpopCached: 0, proof: 0 };
    const keys = Object.keys(NAMES) as Key[];
    for (let round = 1; round <= rounds; round++) {
      for (const key of keys) figures[key] = Math.max(figures[key], await measure(operations[key], durationMs / rounds));
      log(`round ${round}/${rounds}: ${keys.map((key) => `${key} ${Math.round(figures[key]).toLocaleString('en-US')}`).join(', ')} ops/s (best so far)`);
    }

    const row = (key: Key, baseline: Key | null): Row => ({
      name: NAMES[key],
      opsPerSec: Math.round(figures[key]),
      // Three significant digits: the repeated-token ratio is far below 0.01.
      ratio: baseline === null ? null : Number((figures[key] / figures[baseline]).toPrecision(3)),
      target: null,
      baseline: baseline === null ? null : NAMES[baseline],
    });
    return [row('bearerFirst', null), row('dpopFirst', 'bearerFirst'), row('bearerCached', null), row('dpopCached', 'bearerCached'), row('proof', null)];
  } finally {
    await latchkey.close();
  }
}

async function expectRefusal(attempt: () => Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await attempt();
  } catch (error) {
    if (error instanceof AccessTokenError && error.code === code) return;
    throw new Error(`${what} was refused with ${(error as Error).message}, not ${code}`);
  }
  throw new Error(`${what} was accepted; the DPoP rows would not measure a checked proof`);
}

/** The two ratios the issue asks for, DPoP-bound over bearer, by their row names. */
export const DPOP_RATIOS = [
  { numerator: NAMES.dpopFirst, denominator: NAMES.bearerFirst, label: 'first sight' },
  { numerator: NAMES.dpopCached, denominator: NAMES.bearerCached, label: 'repeated' },
] as const;

/** The section of docs/benchmarks.md. */
export function dpopVerifySection(rows: Row[]): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  return [
    '## Verifying DPoP-bound requests (issue 16)',
    '',
    "In one process, `@latchkey/resource`'s `verifyRequest` (what the middlewares call) on two browser tokens of",
    'the same exchange, one Bearer and one DPoP-bound; every DPoP request carries a new proof (signed before',
    'its timed batch). Interleaved rounds, best of each. No target: the ratio is reported.',
    '',
    '| operation | ops/s | µs/op | DPoP ÷ Bearer |',
    '|---|--:|--:|--:|',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.opsPerSec)} | ${(1e6 / r.opsPerSec).toFixed(1)} | ${r.ratio === null ? '' : `${r.ratio}×`} |`),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runDpopVerifyBenchmarks({ log: (line) => console.log(`[verify-dpop] ${line}`) });
  console.log(dpopVerifySection(rows));
}
