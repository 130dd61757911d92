/**
 * Micro-benchmarks of access-token verification (issue 5, point 7), all on the same Latchkey token
 * in one run, in one process, with no sockets (the app answers through inject):
 *
 *   1. raw `crypto.verify` of the token's signature ........................ the limit
 *   2. jose `jwtVerify` with a local key (same checks as the middleware)
 *   3. `verifyAccessToken`, first sight (verified-token cache off) ......... target ≥ 0.8 × (2)
 *   4. `verifyAccessToken`, repeated token (verified-token cache) .......... target ≥ 5 × (1)
 *   5. a bare Fastify route reading a template (same repository call, no auth)
 *   6. the Environment API reading that template through the middleware .... target ≥ 0.5 × (5)
 *
 * `runVerifyBenchmarks()` returns the rows; run this file directly to print them
 * (`node --import tsx bench/verify.ts`). BENCH_VERIFY_MS sets the measured time per row (default
 * 3000), BENCH_VERIFY_ROUNDS the number of interleaved rounds it is split into (default 3).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { importJWK, jwtVerify, type JWK } from 'jose';
import { createVerifier, verifyAccessToken } from '@latchkey/resource';
import { startInProcessLatchkey } from './in-process-latchkey.ts';
import { SYSTEM_CONTEXT } from '../packages/server/src/platform/audit.ts';
import { createEnvironment } from '../packages/server/src/platform/environments.ts';
import { createIntegration } from '../packages/server/src/platform/integrations.ts';
import { createInjectFetch } from '../packages/server/src/support/inject-fetch.ts';
import { createEnvironmentApiRepositories } from '../packages/server/src/storage/repositories/environment-api.ts';
import { toTemplateDto } from '../packages/server/src/environment-api/schemas.ts';

/** One measured row. `ratio` is opsPerSec over the `baseline` row's; `target` is the minimum it should reach. */
export interface Row {
  name: string;
  opsPerSec: number;
  ratio: number | null;
  target: number | null;
  /** The row the ratio divides by. */
  baseline: string | null;
}

/** Options of {@link runVerifyBenchmarks}. */
export interface VerifyBenchmarkOptions {
  /** Measured milliseconds per row, split over the rounds (each after a warm-up). Default BENCH_VERIFY_MS or 3000. */
  durationMs?: number;
  /** Interleaved rounds; each row reports its best. Default BENCH_VERIFY_ROUNDS or 3. */
  rounds?: number;
  log?: (line: string) => void;
}

/** Runs `operation` back to back for `durationMs` (after a warm-up) and returns operations per second. */
async function measure(operation: () => unknown, durationMs: number): Promise<number> {
  const run = async (milliseconds: number): Promise<number> => {
    const start = performance.now();
    let count = 0;
    let elapsed = 0;
    do {
      // Checking the clock every 32 operations keeps its cost out of the figure.
      for (let i = 0; i < 32; i++) {
        const result = operation();
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') await result;
      }
      count += 32;
      elapsed = performance.now() - start;
    } while (elapsed < milliseconds);
    return (count * 1000) / elapsed;
  };
  await run(Math.max(100, durationMs / 4));
  return run(durationMs);
}

const NAMES = {
  raw: 'crypto.verify of the signature (the limit)',
  jose: 'jose jwtVerify, local key',
  first: 'verifyAccessToken, first sight (cache off)',
  cached: 'verifyAccessToken, repeated token (cache)',
  bare: 'bare Fastify route, template read',
  api: 'Environment API template read (middleware)',
} as const;

/** Measures the six rows on one fresh in-process Latchkey (SQLite in a temporary directory). */
export async function runVerifyBenchmarks(options: VerifyBenchmarkOptions = {}): Promise<Row[]> {
  const durationMs = options.durationMs ?? Number(process.env.BENCH_VERIFY_MS ?? 3000);
  const rounds = Math.max(1, options.rounds ?? Number(process.env.BENCH_VERIFY_ROUNDS ?? 3));
  const log = options.log ?? (() => undefined);
  const latchkey = await startInProcessLatchkey('latchkey-bench-verify-');
  const { config, database, runtime, app } = latchkey;
  const bare = Fastify();
  try {
    await createEnvironment(runtime.platform, { id: 'bench' }, SYSTEM_CONTEXT);
    const { integration, clientSecret } = await createIntegration(
      runtime.platform,
      { environmentId: 'bench', name: 'bench', grants: { 'environment-api': runtime.apis.presetScopes('all') } },
      SYSTEM_CONTEXT,
    );
    const tokenResponse = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: clientSecret }).toString(),
    });
    if (tokenResponse.statusCode !== 200) throw new Error(`token request failed: ${tokenResponse.statusCode} ${tokenResponse.body}`);
    const token = (tokenResponse.json() as { access_token: string }).access_token;
    const authorization = `Bearer ${token}`;

    // The token's public key, as any resource server would find it in the JWKS.
    const [encodedHeader, encodedPayload, encodedSignature] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString()) as { kid: string; alg: string };
    const jwks = JSON.parse(runtime.keyStore.jwks(Date.now())) as { keys: JWK[] };
    const jwk = jwks.keys.find((key) => key.kid === header.kid)!;
    const publicKey: KeyObject = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
    const signature = Buffer.from(encodedSignature, 'base64url');
    const digest = header.alg === 'EdDSA' ? null : 'sha256';
    const keyInput = header.alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
    if (!cryptoVerify(digest, signingInput, keyInput, signature)) throw new Error('raw signature check failed');
    const joseKey = await importJWK(jwk, header.alg);
    const joseOptions = { issuer: config.issuer, audience: config.environmentApiAudience, algorithms: [header.alg], typ: 'at+jwt' };

    // Revocation checks on, fed by the server's own list (the inject fetch cannot carry the feed's
    // stream): the same check a subscribed resource server makes on every verification.
    const verifierOptions = { issuer: config.issuer, audience: config.environmentApiAudience, fetch: createInjectFetch(app, config.issuer), revocation: { source: runtime.revocations } };
    const uncached = createVerifier({ ...verifierOptions, cacheSize: 0 });
    const cached = createVerifier(verifierOptions);
    await verifyAccessToken(token, uncached); // loads the JWKS
    await verifyAccessToken(token, cached);

    // One template to read, through the API and through a bare route doing the same repository call.
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/environments/bench/templates',
      headers: { authorization, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Business card', content: { size: '85x55', layers: [{ type: 'text', value: 'Ada Lovelace' }] } }),
    });
    if (created.statusCode !== 201) throw new Error(`template create failed: ${created.statusCode} ${created.body}`);
    const templateId = (created.json() as { id: string }).id;
    const storage = createEnvironmentApiRepositories(database);
    bare.get<{ Params: { id: string } }>('/templates/:id', async (request, reply) => {
      const template = await storage.templates.get('bench', request.params.id);
      if (template === null) return reply.code(404).send({ error: 'not found' });
      return toTemplateDto(template);
    });
    await bare.ready();
    const apiRead = { method: 'GET' as const, url: `/api/v1/environments/bench/templates/${templateId}`, headers: { authorization } };
    const bareRead = { method: 'GET' as const, url: `/templates/${templateId}` };
    for (const [target, request] of [[app, apiRead], [bare, bareRead]] as const) {
      const response = await target.inject(request);
      if (response.statusCode !== 200) throw new Error(`${request.url} answered ${response.statusCode}: ${response.body}`);
    }

    const figures: Record<keyof typeof NAMES, number> = { raw: 0, jose: 0, first: 0, cached: 0, bare: 0, api: 0 };
    const operations: Record<keyof typeof NAMES, () => unknown> = {
      raw: () => cryptoVerify(digest, signingInput, keyInput, signature),
      jose: () => jwtVerify(token, joseKey, joseOptions),
      first: () => verifyAccessToken(token, uncached),
      cached: () => verifyAccessToken(token, cached),
      bare: () => bare.inject(bareRead),
      api: () => app.inject(apiRead),
    };
    // Rows are measured in interleaved rounds and each keeps its best round: on a shared machine a
    // burst of foreign load then hurts one round of every row rather than all of one row.
    const keys = Object.keys(NAMES) as (keyof typeof NAMES)[];
    for (let round = 1; round <= rounds; round++) {
      for (const key of keys) figures[key] = Math.max(figures[key], await measure(operations[key], durationMs / rounds));
      log(`round ${round}/${rounds}: ${keys.map((key) => `${key} ${Math.round(figures[key]).toLocaleString('en-US')}`).join(', ')} ops/s (best so far)`);
    }

    const row = (key: keyof typeof NAMES, baseline: keyof typeof NAMES | null, target: number | null): Row => ({
      name: NAMES[key],
      opsPerSec: Math.round(figures[key]),
      ratio: baseline === null ? null : Math.round((figures[key] / figures[baseline]) * 100) / 100,
      target,
      baseline: baseline === null ? null : NAMES[baseline],
    });
    return [
      row('raw', null, null),
      row('jose', 'raw', null),
      row('first', 'jose', 0.8),
      row('cached', 'raw', 5),
      row('bare', null, null),
      row('api', 'bare', 0.5),
    ];
  } finally {
    await bare.close();
    await latchkey.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runVerifyBenchmarks({ log: (line) => console.log(`[verify] ${line}`) });
  console.table(rows.map((r) => ({ ...r, verdict: r.target === null ? '' : r.ratio! >= r.target ? 'PASS' : 'FAIL' })));
  process.exitCode = rows.every((r) => r.target === null || r.ratio! >= r.target) ? 0 : 1;
}
