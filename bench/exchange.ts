/**
 * Token exchange throughput (issue 16, point 7): `POST /oauth/token` with
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange, as a backend calls it for its page.
 * The backend authenticates as its integration (Basic) and presents its own cached access token as
 * `subject_token`; every exchange mints a browser token (they are never cached).
 *
 *   (x)      without DPoP: the same request every time, a Bearer browser token each
 *   (x-dpop) with a fresh DPoP proof per request (signed ahead of the load, see dpop-proofs.ts):
 *            the server checks the proof, remembers its jti and mints a token bound to the key
 *
 * Both run beside (c) minting and (d) node-oidc-provider (`BENCH_ONLY=exchange` runs the four).
 */
import { join } from 'node:path';
import { accessTokenOf, expectOk, sendOnce, tokenRequest } from './http.ts';
import { cli, ENVIRONMENT_API_SCOPES, latchkeyEnv, serveLatchkey, type LatchkeyOptions } from './latchkey.ts';
import { createDpopSigner } from './dpop-proofs.ts';
import { freePort, stopServer } from './processes.ts';
import type { HttpRequest, LoadTarget, Scenario } from './scenario.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The scenario keys of this file, selected together by `BENCH_ONLY=exchange`. */
export const EXCHANGE_KEYS = ['x', 'x-dpop'] as const;

/** A running Latchkey ready for exchanges. */
interface ExchangeServer {
  tokenUrl: string;
  /** The token endpoint as the issuer names it: a proof's `htu`. */
  htu: string;
  /** The exchange request without a DPoP header (Basic authentication, the cached subject token). */
  exchange: HttpRequest;
  /** The subject token's read scopes: what a browser token gets by default. */
  readScopes: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

interface TokenResponse {
  access_token: string;
  token_type: string;
  issued_token_type: string;
  scope: string;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * A fresh data directory, one integration with every Environment API scope allowed to mint browser
 * tokens, `latchkey serve`, and its cached access token (checked: asked twice, the same token).
 */
async function startExchangeServer(options: Pick<LatchkeyOptions, 'repoRoot' | 'workDir' | 'log'>): Promise<ExchangeServer> {
  const port = await freePort();
  const env = latchkeyEnv(options.workDir, port);
  await cli(options, env, ['environments', 'create', 'bench', '--json']);
  const { seedIntegrationsInProcess } = await import('./seed-integrations.ts');
  const [client] = await seedIntegrationsInProcess(env, 'bench', 1, { 'environment-api': [...ENVIRONMENT_API_SCOPES] }, { name: 'backend', browserTokens: true });
  if (client === undefined) throw new Error('exchange: no integration was seeded');
  const { server, tokenUrl } = await serveLatchkey(options, env, port);
  try {
    const metadata = (await (await fetch(new URL('/.well-known/oauth-authorization-server', tokenUrl))).json()) as { token_endpoint?: string; grant_types_supported?: string[] };
    if (!metadata.grant_types_supported?.includes(TOKEN_EXCHANGE_GRANT)) throw new Error('exchange: the server does not advertise the token exchange grant');
    const htu = metadata.token_endpoint ?? tokenUrl;
    // The backend's own token: all scopes, as an all-permissions integration asks for it; served
    // from the token cache, as a backend gets it on every call.
    const subjectRequest = tokenRequest(client.clientId, client.clientSecret, `grant_type=client_credentials&scope=${encodeURIComponent(ENVIRONMENT_API_SCOPES.join(' '))}`);
    const target: LoadTarget = { url: tokenUrl, method: 'POST', requests: [subjectRequest] };
    const subject = accessTokenOf(await expectOk('exchange subject token', target, subjectRequest));
    if (accessTokenOf(await expectOk('exchange subject token', target, subjectRequest)) !== subject) throw new Error('exchange: the subject token was not served from the token cache');
    const body = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE }).toString();
    const readScopes = ENVIRONMENT_API_SCOPES.filter((s) => s.endsWith(':read')).join(' ');
    return { tokenUrl, htu, exchange: tokenRequest(client.clientId, client.clientSecret, body), readScopes, pid: server.child.pid, stop: () => stopServer(server) };
  } catch (err) {
    await stopServer(server);
    throw err;
  }
}

/** Checks one exchange answer: a browser token with the subject token's read scopes, bound or not. */
function checkBrowserToken(body: string, server: ExchangeServer, jkt: string | undefined): string {
  const response = JSON.parse(body) as TokenResponse;
  const expectedType = jkt === undefined ? 'Bearer' : 'DPoP';
  if (response.token_type !== expectedType) throw new Error(`exchange: token_type ${response.token_type}, expected ${expectedType}`);
  if (response.issued_token_type !== ACCESS_TOKEN_TYPE) throw new Error(`exchange: issued_token_type ${response.issued_token_type}`);
  if (response.scope.split(' ').sort().join(' ') !== server.readScopes.split(' ').sort().join(' ')) throw new Error(`exchange: scope '${response.scope}', expected the read scopes '${server.readScopes}'`);
  const claims = claimsOf(response.access_token);
  if (claims.browser !== true || typeof (claims.act as { sub?: unknown } | undefined)?.sub !== 'string') throw new Error('exchange: the token is not a browser token (browser, act)');
  const bound = (claims.cnf as { jkt?: unknown } | undefined)?.jkt;
  if (bound !== jkt) throw new Error(`exchange: cnf.jkt ${String(bound)}, expected ${String(jkt)}`);
  return response.access_token;
}

/** Options of the exchange scenarios: where and how to start a Latchkey of their own each round. */
export interface ExchangeScenarioOptions {
  start: () => Pick<LatchkeyOptions, 'repoRoot' | 'workDir' | 'log'>;
}

/** Scenario (x): token exchanges without DPoP, the same request every time, each one minted. */
export function exchangeScenario(options: ExchangeScenarioOptions): Scenario {
  let server: ExchangeServer | undefined;
  return {
    key: 'x',
    name: 'Latchkey token exchange (browser token, no DPoP)',
    async stop() {
      await server?.stop();
    },
    async prepare() {
      server = await startExchangeServer(options.start());
      const target: LoadTarget = { url: server.tokenUrl, method: 'POST', requests: [server.exchange], serverPid: server.pid };
      // The same request twice must mint twice, or this would measure a cache.
      const first = checkBrowserToken(await expectOk('exchange', target, server.exchange), server, undefined);
      const second = checkBrowserToken(await expectOk('exchange', target, server.exchange), server, undefined);
      if (first === second) throw new Error('exchange: two identical exchanges returned the same token; (x) would not measure minting');
      return target;
    },
    afterRun: () => ({ notes: ['checked before the run: two identical exchanges got two different Bearer browser tokens with the read scopes of the subject token'] }),
  };
}

/**
 * Scenario (x-dpop): token exchanges each carrying a DPoP proof of its own — `proofs` of them signed
 * before the run with one ES256 key (enough for the warm-up and the measured run at `proofs` ÷
 * their seconds per second; a run that outlasts them wraps, replays proofs and gets 400s, reported).
 */
export function exchangeDpopScenario(options: ExchangeScenarioOptions & { proofs: number }): Scenario {
  let server: ExchangeServer | undefined;
  let available = 0;
  let signSeconds = 0;
  return {
    key: 'x-dpop',
    name: 'Latchkey token exchange, DPoP-bound (a new proof per request)',
    async stop() {
      await server?.stop();
    },
    async prepare() {
      server = await startExchangeServer(options.start());
      const signer = createDpopSigner();
      const withProof = (proof: string): HttpRequest => ({ headers: { ...server!.exchange.headers, dpop: proof }, body: server!.exchange.body });
      const one = withProof(signer.proof('POST', server.htu));
      const check: LoadTarget = { url: server.tokenUrl, method: 'POST', requests: [one] };
      checkBrowserToken(await expectOk('exchange with DPoP', check, one), server, signer.jkt);
      // The replay check is live, so every request of the run pays for a full proof check.
      const replayed = await sendOnce(check, one);
      if (replayed.status !== 400 || !replayed.body.includes('invalid_dpop_proof')) throw new Error(`exchange: a replayed DPoP proof got ${replayed.status} ${replayed.body.slice(0, 200)}, not 400 invalid_dpop_proof`);
      // Signed last, right before the warm-up: a proof is accepted for 60 s after its iat.
      const t0 = performance.now();
      const requests = signer.proofs(options.proofs, 'POST', server.htu).map(withProof);
      signSeconds = (performance.now() - t0) / 1000;
      available = requests.length;
      return { url: server.tokenUrl, method: 'POST', requests, serverPid: server.pid };
    },
    afterRun(result) {
      const d = result.distinct;
      const notes = [
        `checked before the run: an exchange with a proof got a DPoP browser token whose cnf.jkt is the proof key's thumbprint, and the same proof again got 400 invalid_dpop_proof; ${available.toLocaleString('en-US')} proofs signed ahead (${signSeconds.toFixed(1)} s in the benchmark process, before the warm-up)`,
        ...(d ? [`${d.issued.toLocaleString('en-US')} requests issued (${result.requests.toLocaleString('en-US')} completed), each with a proof never sent before, over ${d.available.toLocaleString('en-US')} proofs left for the measured run`] : []),
      ];
      const wrapped = d !== undefined && (d.wrapped || d.issued > d.available);
      return { notes, warnings: wrapped ? ['the run outlasted the signed proofs (wrapped around), so some proofs were replays refused with 400: raise BENCH_EXCHANGE_PROOF_RATE'] : [] };
    },
  };
}

/** Where each round's Latchkey of scenario `name` keeps its data: a new directory every time. */
export function exchangeServerOptions(name: string, repoRoot: string, workDir: string, log: (line: string) => void): () => Pick<LatchkeyOptions, 'repoRoot' | 'workDir' | 'log'> {
  let started = 0;
  return () => ({ repoRoot, workDir: join(workDir, `${name}-${++started}`), log });
}
