// The revocation feed as a resource server lives it (issue 13, point 4): a real FakeIssuer for
// metadata and keys, a real SSE feed on its own loopback server, and a verifier that only sees HTTP.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AUDIENCE, FakeIssuer } from '../test/support/fake-issuer.ts';
import { rejection } from '../test/support/rejection.ts';
import { FakeRevocationFeed } from '../test/support/fake-revocation-feed.ts';
import { createVerifier } from './create-verifier.ts';
import type { AccessTokenVerifier, VerifierOptions } from './create-verifier.ts';
import type { AccessTokenError } from './errors.ts';
import { RevocationSet } from './revocation-set.ts';
import type { RevocationStatus } from './revocation-source.ts';
import type { RevocationOptions } from './verifier-revocation.ts';

let issuer: FakeIssuer;
let feed: FakeRevocationFeed;
const verifiers: AccessTokenVerifier[] = [];

// Fast reconnection for tests; the defaults (1 s doubling to 30 s) are proven by the schedule test.
const QUICK: RevocationOptions = { reconnectDelaySeconds: 0.05, maxReconnectDelaySeconds: 0.1 };

beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});
beforeEach(async () => {
  feed = await FakeRevocationFeed.start();
  issuer.metadataOverrides = { latchkey_revocation_feed_endpoint: feed.url };
});
afterEach(async () => {
  for (const verifier of verifiers.splice(0)) verifier.close();
  await feed.close();
  issuer.now = Date.UTC(2030, 0, 1);
  vi.restoreAllMocks();
});

function makeVerifier(revocation: false | RevocationOptions = QUICK, options: Partial<VerifierOptions> = {}): AccessTokenVerifier {
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate, revocation, ...options });
  verifiers.push(verifier);
  return verifier;
}

function nowSeconds(): number {
  return Math.floor(issuer.now / 1000);
}

function jtiOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string }).jti;
}

/** Polls until the verification is refused with `code` (the protocol's "within 1 s" unless said otherwise). */
async function refusedWithin(verifier: AccessTokenVerifier, token: string, code: string, timeout = 1000): Promise<AccessTokenError> {
  let last: AccessTokenError | undefined;
  await vi.waitFor(
    async () => {
      last = await rejection(verifier.verify(token));
      expect(last.code).toBe(code);
    },
    { timeout, interval: 10 },
  );
  return last as AccessTokenError;
}

async function statusWithin(verifier: AccessTokenVerifier, expected: Partial<RevocationStatus>, timeout = 2000): Promise<RevocationStatus> {
  await vi.waitFor(() => expect(verifier.revocationStatus()).toMatchObject(expected), { timeout, interval: 10 });
  return verifier.revocationStatus();
}

describe('revocation feed: revoked tokens are refused', () => {
  it('refuses, on the very first verification, a token revoked before the verifier started', async () => {
    const token = await issuer.sign();
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 });
    feed.answerAfterMs = 300; // catching up takes longer than loading the keys
    const verifier = makeVerifier();

    const error = await rejection(verifier.verify(token));
    expect(error.code).toBe('ERR_TOKEN_REVOKED');
    expect(error.statusCode).toBe(401);
    expect(error.headers).toEqual({
      'www-authenticate': `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="the token has been revoked"`,
    });
    expect(error.body).toEqual({ error: 'invalid_token', error_description: 'the token has been revoked' });
    expect(verifier.revocationStatus()).toMatchObject({ state: 'live', stale: false, cursor: '1', entries: 1, feedUrl: feed.url });
    expect(feed.connections).toEqual([{ lastEventId: undefined, accept: 'text/event-stream' }]);
    // One metadata fetch served both the keys and the feed.
    expect(issuer.hits.get('/.well-known/oauth-authorization-server')).toBe(1);
  });

  it('refuses a cached token within a second of its revocation, and keeps serving other tokens from the cache', async () => {
    const verifier = makeVerifier();
    const [revoked, other] = [await issuer.sign(), await issuer.sign()];
    await verifier.verify(revoked);
    const otherClaims = await verifier.verify(other);
    expect(await verifier.verify(revoked)).toBeDefined();

    feed.push({ type: 'token', jti: jtiOf(revoked), expiresAt: nowSeconds() + 3600 });
    await refusedWithin(verifier, revoked, 'ERR_TOKEN_REVOKED');
    // A replayed revoked token stays refused; the other token is still the cached object.
    for (let i = 0; i < 50; i++) expect((await rejection(verifier.verify(revoked))).code).toBe('ERR_TOKEN_REVOKED');
    expect(await verifier.verify(other)).toBe(otherClaims);
  });

  it('refuses the tokens of a client issued before notBefore, and accepts those issued at or after it', async () => {
    const verifier = makeVerifier();
    const before = await issuer.sign({ iat: nowSeconds() - 1 });
    const cachedBefore = await issuer.sign({ iat: nowSeconds() - 10 });
    const otherClient = await issuer.sign({ iat: nowSeconds() - 10, client_id: 'int_other', sub: 'int_other' });
    await verifier.verify(cachedBefore);

    feed.push({ type: 'client', clientId: 'int_client', notBefore: nowSeconds(), expiresAt: nowSeconds() + 3600 });
    await refusedWithin(verifier, cachedBefore, 'ERR_TOKEN_REVOKED');
    expect((await rejection(verifier.verify(before))).code).toBe('ERR_TOKEN_REVOKED');
    await expect(verifier.verify(await issuer.sign({ iat: nowSeconds() }))).resolves.toMatchObject({ client_id: 'int_client' });
    await expect(verifier.verify(otherClient)).resolves.toMatchObject({ client_id: 'int_other' });
  });

  it('refuses the tokens of an environment issued before notBefore, and only that environment', async () => {
    const verifier = makeVerifier();
    await verifier.verify(await issuer.sign());
    feed.push({ type: 'environment', environmentId: 'env_1', notBefore: nowSeconds(), expiresAt: nowSeconds() + 3600 });
    await refusedWithin(verifier, await issuer.sign({ iat: nowSeconds() - 1 }), 'ERR_TOKEN_REVOKED');
    // A re-created environment with the same id mints new tokens, iat >= notBefore: accepted.
    await expect(verifier.verify(await issuer.sign({ iat: nowSeconds() }))).resolves.toBeDefined();
    await expect(verifier.verify(await issuer.sign({ iat: nowSeconds() - 1, environment: 'env_2' }))).resolves.toBeDefined();
    await expect(verifier.verify(await issuer.sign({ iat: nowSeconds() - 1, environment: undefined }))).resolves.toBeDefined();
  });

  it('reads a feed written with CRLF line ends', async () => {
    feed.lineEnding = '\r\n';
    const token = await issuer.sign();
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 });
    const verifier = makeVerifier();
    expect((await rejection(verifier.verify(token))).code).toBe('ERR_TOKEN_REVOKED');
    const later = await issuer.sign();
    await verifier.verify(later);
    feed.push({ type: 'token', jti: jtiOf(later), expiresAt: nowSeconds() + 3600 });
    await refusedWithin(verifier, later, 'ERR_TOKEN_REVOKED');
  });

  it('forgets entries once every token they cover has expired, keeping them through the clock tolerance', async () => {
    const verifier = makeVerifier();
    await verifier.verify(await issuer.sign());
    feed.push(
      { type: 'token', jti: 'short', expiresAt: nowSeconds() + 10 },
      { type: 'token', jti: 'within-tolerance', expiresAt: nowSeconds() + 68 },
      { type: 'client', clientId: 'int_gone', notBefore: nowSeconds(), expiresAt: nowSeconds() + 20 },
    );
    await statusWithin(verifier, { entries: 3 });
    issuer.advance(70); // past the prune interval; the tolerance (5 s) keeps `within-tolerance`
    feed.push({ type: 'token', jti: 'long', expiresAt: nowSeconds() + 3600 });
    await statusWithin(verifier, { entries: 2, cursor: '4' });
  });
});

describe('revocation feed: reconnection', () => {
  it('reconnects with Last-Event-ID after a dropped stream and picks up the entries written meanwhile', async () => {
    const verifier = makeVerifier();
    const token = await issuer.sign();
    await verifier.verify(token);
    feed.push({ type: 'token', jti: 'first', expiresAt: nowSeconds() + 3600 });
    await statusWithin(verifier, { cursor: '1' });

    await feed.refuse();
    await statusWithin(verifier, { state: 'unreachable' });
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 }); // while nobody listens
    await feed.accept();

    await refusedWithin(verifier, token, 'ERR_TOKEN_REVOKED', 3000);
    expect(feed.connections.at(-1)).toEqual({ lastEventId: '1', accept: 'text/event-stream' });
    expect(await statusWithin(verifier, { state: 'live', cursor: '2', entries: 2, failures: 0, lastError: null })).toBeDefined();
  });

  it('reconnects after the feed ends the stream (a restart) without losing its place', async () => {
    const verifier = makeVerifier();
    await verifier.verify(await issuer.sign());
    feed.push({ type: 'token', jti: 'a', expiresAt: nowSeconds() + 3600 });
    await statusWithin(verifier, { cursor: '1' });
    feed.endStreams();
    await vi.waitFor(() => expect(feed.connections).toHaveLength(2), { timeout: 2000 });
    expect(feed.connections[1]?.lastEventId).toBe('1');
    await statusWithin(verifier, { state: 'live' });
  });

  it('backs off exponentially with jitter while the feed fails, and starts over once caught up', async () => {
    feed.failWith = { status: 503 };
    const seen: RevocationStatus[] = [];
    const verifier = makeVerifier({
      reconnectDelaySeconds: 0.02,
      maxReconnectDelaySeconds: 0.16,
      startupWaitSeconds: 0,
      onStatusChange: (status) => seen.push(status),
    });
    await verifier.verify(await issuer.sign());
    await statusWithin(verifier, { failures: 7 }, 5000);

    const delays = seen.filter((status) => status.state === 'unreachable').map((status) => [status.failures, (status.nextAttemptAt as number) - (status.since as number)]);
    expect(delays.slice(0, 7).map(([failures]) => failures)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const [failures, delay] of delays.slice(0, 7) as [number, number][]) {
      const base = Math.min(160, 20 * 2 ** (failures - 1)); // 20, 40, 80, 160, 160, …
      expect(delay).toBeGreaterThanOrEqual(Math.floor(base / 2));
      expect(delay).toBeLessThanOrEqual(base);
    }
    // Every scheduled attempt really went out (the clock of this verifier stands still, so the
    // schedule above is exact; the feed counts the requests).
    expect(feed.connections.length).toBeGreaterThanOrEqual(7);
    expect(verifier.revocationStatus().lastError).toBe(`GET ${feed.url} answered HTTP 503`);

    feed.failWith = undefined;
    await statusWithin(verifier, { state: 'live', failures: 0 }, 3000);
    seen.length = 0;
    feed.dropConnections();
    await vi.waitFor(() => expect(seen.map((status) => status.state)).toContain('live'), { timeout: 3000 });
    const [first] = seen.filter((status) => status.state === 'unreachable');
    expect(first?.failures).toBe(1);
    expect((first?.nextAttemptAt as number) - (first?.since as number)).toBeLessThanOrEqual(20);
  });

  it('waits at least as long as Retry-After says (up to the maximum delay)', async () => {
    feed.failWith = { status: 503, retryAfter: '1' };
    const verifier = makeVerifier({ reconnectDelaySeconds: 0.01, maxReconnectDelaySeconds: 2, startupWaitSeconds: 0, onStatusChange: () => undefined });
    await verifier.verify(await issuer.sign());
    const status = await statusWithin(verifier, { state: 'unreachable', failures: 1 });
    expect((status.nextAttemptAt as number) - (status.since as number)).toBeGreaterThanOrEqual(1000);
  });

  it('treats a connection that sends nothing for the heartbeat timeout as dead, and reconnects where it was', async () => {
    const verifier = makeVerifier({ ...QUICK, heartbeatTimeoutSeconds: 0.3 });
    await verifier.verify(await issuer.sign());
    feed.push({ type: 'token', jti: 'a', expiresAt: nowSeconds() + 3600 });
    await statusWithin(verifier, { state: 'live', cursor: '1' });

    feed.silent = true; // the TCP connection stays open, nothing comes
    await vi.waitFor(() => expect(feed.connections.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(feed.connections[1]?.lastEventId).toBe('1');
    expect(verifier.revocationStatus().lastError).toBe('the feed sent nothing for 0.3 s');
    feed.silent = false;
    feed.dropConnections(); // the silent stream the verifier may be holding
    await statusWithin(verifier, { state: 'live', lastError: null }, 3000);
  });

  it('keeps a quiet connection that sends keep-alive comments', async () => {
    feed.keepAliveMs = 50;
    const verifier = makeVerifier({ ...QUICK, heartbeatTimeoutSeconds: 0.3 });
    await verifier.verify(await issuer.sign());
    await statusWithin(verifier, { state: 'live' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(feed.connections).toHaveLength(1);
    expect(verifier.revocationStatus().state).toBe('live');
  });

  it('starts over from the beginning when the feed refuses its cursor', async () => {
    const verifier = makeVerifier();
    await verifier.verify(await issuer.sign());
    feed.push({ type: 'token', jti: 'a', expiresAt: nowSeconds() + 3600 }, { type: 'token', jti: 'b', expiresAt: nowSeconds() + 3600 });
    await statusWithin(verifier, { cursor: '2' });
    feed.entries = []; // the feed lost its history (a restore): cursor 2 means nothing to it now
    feed.dropConnections();
    await statusWithin(verifier, { state: 'live', cursor: '0' }, 3000);
    expect(feed.connections.map((connection) => connection.lastEventId)).toEqual([undefined, '2', undefined]);
    expect(verifier.revocationStatus().entries).toBe(2); // what it knew is kept
  });
});

describe('revocation feed: a feed that is down (stale policy)', () => {
  it('by default keeps verifying, and warns once per stale episode naming the issuer', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const verifier = makeVerifier({ ...QUICK, maxStalenessSeconds: 0.2 });
    await verifier.verify(await issuer.sign());
    await statusWithin(verifier, { state: 'live' });

    await feed.refuse();
    await statusWithin(verifier, { stale: true });
    await expect(verifier.verify(await issuer.sign())).resolves.toBeDefined();
    await statusWithin(verifier, { failures: 4 }, 3000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain(`the revocation feed of ${issuer.issuer} is not up to date`);
    expect(warn.mock.calls[0]?.[0]).toContain('ECONNREFUSED');

    await feed.accept();
    await statusWithin(verifier, { state: 'live', stale: false }, 3000);
    await feed.refuse();
    await statusWithin(verifier, { stale: true });
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('with failClosed refuses every token with 503 while stale, cached ones too, and recovers', async () => {
    const verifier = makeVerifier({ ...QUICK, maxStalenessSeconds: 0.2, failClosed: true, onStatusChange: () => undefined });
    const cached = await issuer.sign();
    const cachedClaims = await verifier.verify(cached);

    await feed.refuse();
    const error = await refusedWithin(verifier, cached, 'ERR_REVOCATION_UNAVAILABLE', 3000);
    expect(error.statusCode).toBe(503);
    expect(error.headers).toEqual({});
    expect(error.body).toEqual({ error: 'temporarily_unavailable', error_description: 'the token revocation list is not up to date, try again later' });
    expect((await rejection(verifier.verify(await issuer.sign()))).code).toBe('ERR_REVOCATION_UNAVAILABLE');

    await feed.accept();
    await vi.waitFor(async () => expect(await verifier.verify(cached)).toBe(cachedClaims), { timeout: 3000 });
  });

  it('waits at most startupWaitSeconds on the first verification for a feed that never catches up', async () => {
    feed.holdReady = true;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const verifier = makeVerifier({ ...QUICK, startupWaitSeconds: 0.1 });
    await expect(verifier.verify(await issuer.sign())).resolves.toBeDefined();
    expect(verifier.revocationStatus()).toMatchObject({ state: 'connecting', stale: true });
    expect(warn).toHaveBeenCalledTimes(1);

    const strict = makeVerifier({ ...QUICK, startupWaitSeconds: 0.1, failClosed: true });
    expect((await rejection(strict.verify(await issuer.sign()))).code).toBe('ERR_REVOCATION_UNAVAILABLE');
    feed.sendReady();
    await expect(strict.verify(await issuer.sign())).resolves.toBeDefined();
    expect(strict.revocationStatus()).toMatchObject({ state: 'live', stale: false });
  });
});

describe('revocation feed: options', () => {
  it('revocation: false never subscribes and does not check revocations', async () => {
    const token = await issuer.sign();
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 });
    const verifier = makeVerifier(false);
    await expect(verifier.verify(token)).resolves.toBeDefined();
    expect(feed.connections).toHaveLength(0);
    expect(verifier.revocationStatus()).toMatchObject({ state: 'disabled', stale: false });
  });

  it('without a feed in the metadata: says so, keeps verifying with one warning, and fails closed when asked', async () => {
    const bare = await FakeIssuer.start(); // a fresh issuer: the warning is once per issuer and process
    try {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const options = { issuer: bare.issuer, audience: AUDIENCE, currentDate: bare.currentDate };
      const first = createVerifier(options);
      const second = createVerifier(options);
      verifiers.push(first, second);
      for (const verifier of [first, second]) await expect(verifier.verify(await bare.sign())).resolves.toBeDefined();
      expect(first.revocationStatus()).toMatchObject({
        state: 'unsupported',
        stale: true,
        lastError: 'the issuer metadata has no latchkey_revocation_feed_endpoint',
      });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toContain(`${bare.issuer} publishes no revocation feed`);
      expect(bare.hits.get('/.well-known/oauth-authorization-server')).toBe(2); // one per verifier, shared with the keys

      const strict = createVerifier({ ...options, revocation: { failClosed: true } });
      verifiers.push(strict);
      expect((await rejection(strict.verify(await bare.sign()))).code).toBe('ERR_REVOCATION_UNAVAILABLE');
    } finally {
      await bare.close();
    }
  });

  it('follows feedUrl without looking for it in the metadata', async () => {
    issuer.metadataOverrides = {};
    const token = await issuer.sign();
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 });
    const verifier = makeVerifier({ ...QUICK, feedUrl: feed.url });
    expect((await rejection(verifier.verify(token))).code).toBe('ERR_TOKEN_REVOKED');
  });

  it('consults a source passed in, synchronously: the very next verification sees a revocation', async () => {
    const revocations = new RevocationSet();
    const verifier = makeVerifier({ source: revocations });
    const token = await issuer.sign();
    const claims = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(claims);
    revocations.apply({ type: 'token', jti: 'unrelated', expiresAt: nowSeconds() + 60 });
    expect(await verifier.verify(token)).toBe(claims); // re-checked, still the cached object

    revocations.apply({ type: 'client', clientId: 'int_client', notBefore: nowSeconds() + 1, expiresAt: nowSeconds() + 3600 });
    expect((await rejection(verifier.verify(token))).code).toBe('ERR_TOKEN_REVOKED');
    expect(verifier.revocationStatus()).toMatchObject({ state: 'live', entries: 2 });
    expect(feed.connections).toHaveLength(0);
  });

  it('streams the feed through a fetch passed in, and close() aborts it', async () => {
    const seen: string[] = [];
    const verifier = makeVerifier(QUICK, {
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    const token = await issuer.sign();
    await verifier.verify(token);
    expect(seen).toContain(feed.url);
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 });
    await refusedWithin(verifier, token, 'ERR_TOKEN_REVOKED');
    verifier.close();
    await vi.waitFor(() => expect(feed.openStreams).toBe(0));
  });

  it('close() stops the feed: the stream is closed and nothing is retried', async () => {
    const verifier = makeVerifier();
    await verifier.verify(await issuer.sign());
    await statusWithin(verifier, { state: 'live' });
    verifier.close();
    await vi.waitFor(() => expect(feed.openStreams).toBe(0));
    expect(verifier.revocationStatus()).toMatchObject({ state: 'closed', stale: true });

    feed.failWith = { status: 503 };
    const failing = makeVerifier({ reconnectDelaySeconds: 0.02, maxReconnectDelaySeconds: 0.02, startupWaitSeconds: 0, onStatusChange: () => undefined });
    await failing.verify(await issuer.sign());
    await vi.waitFor(() => expect(feed.connections.length).toBeGreaterThanOrEqual(4));
    failing.close();
    const attempts = feed.connections.length;
    await new Promise((resolve) => setTimeout(resolve, 300)); // ~15 retry delays
    // An attempt already on the wire when close() ran may still be counted; nothing after it.
    const settled = feed.connections.length;
    expect(settled).toBeLessThanOrEqual(attempts + 1);
    await expect(failing.verify(await issuer.sign())).resolves.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(feed.connections).toHaveLength(settled);
  });

  it.each([
    ['revocation true', true],
    ['a source without isRevoked', { source: { version: 0, status: () => ({}) } }],
    ['feedUrl with a source', { source: new RevocationSet(), feedUrl: 'https://a.test/feed' }],
    ['a relative feedUrl', { feedUrl: '/oauth/revocations' }],
    ['a negative maxStalenessSeconds', { maxStalenessSeconds: -1 }],
    ['a zero reconnection delay', { reconnectDelaySeconds: 0 }],
    ['failClosed as a string', { failClosed: 'yes' }],
  ])('throws TypeError for %s', (_name, revocation) => {
    expect(() => createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, revocation: revocation as RevocationOptions })).toThrow(TypeError);
  });
});

describe('revocation feed: a broken or hostile feed', () => {
  it('ignores malformed entries and keeps applying good ones', async () => {
    const verifier = makeVerifier();
    const token = await issuer.sign();
    await verifier.verify(token);
    await statusWithin(verifier, { state: 'live' });
    feed.sendRaw('event: revocation\ndata: {not json\n\n');
    feed.sendRaw(`event: revocation\ndata: ${JSON.stringify({ type: 'token', jti: jtiOf(token), expiresAt: 'never' })}\n\n`);
    feed.sendRaw(`event: revocation\ndata: ${JSON.stringify({ type: 'everything', expiresAt: nowSeconds() + 60 })}\n\n`);
    feed.sendRaw('event: surprise\ndata: {}\n\n');
    await statusWithin(verifier, { lastError: 'ignored a malformed revocation entry' });
    expect(await verifier.verify(token)).toBeDefined();
    feed.push({ type: 'token', jti: jtiOf(token), expiresAt: nowSeconds() + 3600 });
    await refusedWithin(verifier, token, 'ERR_TOKEN_REVOKED');
    expect(verifier.revocationStatus()).toMatchObject({ state: 'live', entries: 1 });
    expect(feed.connections).toHaveLength(1);
  });

  it('drops a stream that sends an endless line, and reconnects', async () => {
    const verifier = makeVerifier();
    await verifier.verify(await issuer.sign());
    await statusWithin(verifier, { state: 'live' });
    feed.sendRaw(`data: ${'x'.repeat(1_100_000)}`);
    await vi.waitFor(() => expect(feed.connections.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    await statusWithin(verifier, { state: 'live' });
  });

  it('does not take a response that is not an event stream for the feed', async () => {
    feed.contentType = 'application/json';
    const verifier = makeVerifier({ ...QUICK, startupWaitSeconds: 0.1, onStatusChange: () => undefined });
    await verifier.verify(await issuer.sign());
    const status = await statusWithin(verifier, { state: 'unreachable' });
    expect(status.lastError).toBe(`GET ${feed.url} answered application/json, not text/event-stream`);
  });
});

describe('revocation feed: process lifetime', () => {
  const script = fileURLToPath(new URL('../test/support/verify-once.ts', import.meta.url));

  /** Runs the script; resolves with its output once it exits by itself, or fails after 20 s. */
  function runToExit(token: string): Promise<{ code: number | null; output: string; errors: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, issuer.issuer, AUDIENCE, token], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let errors = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      const guard = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the process did not exit by itself; output: ${output} ${errors}`));
      }, 20_000);
      child.on('exit', (code) => {
        clearTimeout(guard);
        resolve({ code, output, errors });
      });
    });
  }

  it('does not keep the process alive while subscribed to a live feed', async () => {
    issuer.now = Date.now(); // the child uses the real clock
    const token = await issuer.sign();
    feed.push({ type: 'token', jti: 'someone-else', expiresAt: nowSeconds() + 3600 });
    const { code, output, errors } = await runToExit(token);
    expect(code).toBe(0);
    expect(JSON.parse(output)).toEqual({ accepted: true, sub: 'int_client', state: 'live' });
    expect(errors).toBe('');
    expect(feed.connections).toHaveLength(1);
  });

  it('does not keep the process alive while reconnecting to a feed that is down', async () => {
    issuer.now = Date.now();
    const token = await issuer.sign();
    await feed.refuse();
    const { code, output, errors } = await runToExit(token);
    expect(code).toBe(0);
    expect(JSON.parse(output)).toMatchObject({ accepted: true, sub: 'int_client' });
    expect(errors).toContain(`the revocation feed of ${issuer.issuer} is not up to date`);
  });
});
