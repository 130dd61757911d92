import type { AccessTokenClaims } from './claims.ts';
import { metadataUrl } from './issuer-metadata.ts';
import type { FetchLike, IssuerMetadata } from './issuer-metadata.ts';
import { EventStreamHttpError, openEventStream, redactUrl } from './open-event-stream.ts';
import type { EventStreamConnection } from './open-event-stream.ts';
import { isRevocationEntry, RevocationSet } from './revocation-set.ts';
import type { RevocationSource, RevocationState, RevocationStatus } from './revocation-source.ts';
import { SseParser } from './sse-parser.ts';
import type { ServerSentEvent } from './sse-parser.ts';

/** The RFC 8414 metadata member (a Latchkey extension) that names the revocation feed. */
export const FEED_METADATA_MEMBER = 'latchkey_revocation_feed_endpoint';

/** Options of {@link createRevocationFeed}; every duration in milliseconds. */
export interface RevocationFeedOptions {
  /** The feed URL; `undefined` discovers it from the metadata. */
  readonly feedUrl: string | undefined;
  readonly loadMetadata: () => Promise<IssuerMetadata>;
  /** A caller's fetch, streamed; `undefined` uses node:http(s) with an unref'd socket. */
  readonly fetch: FetchLike | undefined;
  /** Milliseconds since the epoch: status times, and when entries expire. */
  readonly now: () => number;
  /** Entries are kept this much past `expiresAt`, so a token accepted within the clock tolerance is still refused. */
  readonly pruneGraceSeconds: number;
  readonly maxStalenessMs: number;
  readonly startupWaitMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  readonly onStatusChange: (status: RevocationStatus) => void;
  /** For the jitter; default Math.random. */
  readonly random?: () => number;
}

/** The feed subscriber: a {@link RevocationSource} that starts on demand and can be stopped. */
export interface RevocationFeed extends RevocationSource {
  /**
   * Starts following the feed (once; later calls return the same promise). Resolves when caught up
   * (`ready`), when the issuer has no feed, on `close()`, or after the startup wait, whichever is first.
   */
  start(): Promise<void>;
  /** Stops for good: the connection is closed and nothing is retried. */
  close(): void;
}

// Expired entries are dropped about this often (on a timer, and on the next event after it).
const PRUNE_INTERVAL_MS = 60_000;
// The cursor goes back in a Last-Event-ID header: visible ASCII only, bounded.
const CURSOR = /^[\x21-\x7E]{1,1024}$/;

/**
 * Follows an issuer's revocation feed (Server-Sent Events, `Accept: text/event-stream`) into a
 * {@link RevocationSet}. On any failure it reconnects with `Last-Event-ID` after an exponential
 * backoff with jitter (reset once caught up again); a connection that sends nothing — not even the
 * 15 s keep-alive — for `heartbeatTimeoutMs` is treated as dead. Not live for `maxStalenessMs` (or
 * never caught up by the end of the startup wait) makes the source `stale`. Timers and the socket
 * are unref'd, except the bounded startup wait that a verification is awaiting.
 *
 * @example
 * const feed = createRevocationFeed({ feedUrl: undefined, loadMetadata, fetch: undefined, now: Date.now, ... });
 * await feed.start();
 * feed.isRevoked(claims);
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const { now, reconnectDelayMs, maxReconnectDelayMs } = options;
  const random = options.random ?? Math.random;
  const revocations = new RevocationSet();
  let state: RevocationState = 'idle';
  let stale = false;
  let since = now();
  let lastEventAt: number | null = null;
  let cursor: string | null = null;
  let lastError: string | null = null;
  let failures = 0;
  let nextAttemptAt: number | null = null;
  let feedUrl = options.feedUrl;
  let caughtUp = false;
  // Each connection attempt has a number; callbacks of an abandoned attempt see a newer one and stop.
  let attempt = 0;
  let connection: EventStreamConnection | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let staleTimer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let startupTimer: NodeJS.Timeout | undefined;
  let startup: Promise<void> | undefined;
  let endStartupWait: (() => void) | undefined;
  let lastPruneAt = now();

  const feed = {
    // A plain data property: the verified-token cache compares it on every hit.
    version: 0,
    isRevoked: (claims: AccessTokenClaims) => revocations.isRevoked(claims),
    status,
    start,
    close,
  };

  function status(): RevocationStatus {
    return Object.freeze({
      state,
      stale,
      since,
      lastEventAt,
      cursor,
      entries: revocations.size,
      lastError,
      feedUrl: feedUrl === undefined ? null : redactUrl(feedUrl),
      failures,
      nextAttemptAt,
    });
  }

  function notify(): void {
    try {
      options.onStatusChange(status());
    } catch {
      // A failing listener must not stop the feed.
    }
  }

  function enter(next: RevocationState, error: string | null): void {
    if (next === state && error === lastError) return;
    if (next !== state) since = now();
    state = next;
    lastError = error;
    notify();
  }

  function markStale(value: boolean): void {
    if (stale === value) return;
    stale = value;
    feed.version += 1; // cached tokens are re-checked against the new policy
    notify();
  }

  function start(): Promise<void> {
    if (startup !== undefined) return startup;
    startup = new Promise<void>((resolve) => {
      endStartupWait = resolve;
    });
    if (state === 'closed') {
      finishStartup();
      return startup;
    }
    // Deliberately ref'd: a verification awaits it, and a script doing one verification must not
    // exit under it. It is bounded by the startup wait.
    startupTimer = setTimeout(finishStartup, options.startupWaitMs);
    pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS).unref();
    connect();
    return startup;
  }

  function finishStartup(): void {
    clearTimeout(startupTimer);
    startupTimer = undefined;
    if (endStartupWait === undefined) return;
    endStartupWait();
    endStartupWait = undefined;
    // Never caught up: the set may lack revocations made before we started.
    if (!caughtUp) markStale(true);
  }

  function connect(): void {
    retryTimer = undefined;
    nextAttemptAt = null;
    const current = ++attempt;
    enter('connecting', lastError);
    if (feedUrl !== undefined) return open(feedUrl, current);
    options.loadMetadata().then(
      (metadata) => {
        if (current !== attempt) return;
        let url: string | undefined;
        try {
          url = metadataUrl(metadata, FEED_METADATA_MEMBER);
        } catch (error) {
          return unsupported(describe(error));
        }
        if (url === undefined) return unsupported(`the issuer metadata has no ${FEED_METADATA_MEMBER}`);
        feedUrl = url;
        open(url, current);
      },
      (error: unknown) => {
        if (current === attempt) failed(error);
      },
    );
  }

  function open(url: string, current: number): void {
    const parser = new SseParser(
      {
        onEvent: (event) => receive(event),
        onComment: () => {
          lastEventAt = now();
        },
      },
      { lastEventId: cursor ?? '' },
    );
    heartbeatTimer = setTimeout(() => {
      if (current !== attempt) return;
      connection?.close();
      failed(new Error(`the feed sent nothing for ${options.heartbeatTimeoutMs / 1000} s`));
    }, options.heartbeatTimeoutMs).unref();
    connection = openEventStream(
      url,
      cursor === null ? {} : { 'last-event-id': cursor },
      {
        onOpen: () => heartbeatTimer?.refresh(),
        onText: (text) => {
          heartbeatTimer?.refresh();
          parser.push(text);
        },
        onClose: (error) => {
          if (current === attempt) failed(error);
        },
      },
      options.fetch,
    );
  }

  function receive(event: ServerSentEvent): void {
    lastEventAt = now();
    if (CURSOR.test(event.lastEventId)) cursor = event.lastEventId;
    if (event.type === 'revocation') {
      const entry = parseJson(event.data);
      if (isRevocationEntry(entry)) {
        if (revocations.apply(entry)) feed.version += 1;
      } else {
        lastError = 'ignored a malformed revocation entry';
      }
    } else if (event.type === 'ready') {
      const readyCursor = (parseJson(event.data) as { cursor?: unknown } | undefined)?.cursor;
      if (typeof readyCursor === 'string' && CURSOR.test(readyCursor)) cursor = readyCursor;
      caughtUp = true;
      failures = 0;
      clearTimeout(staleTimer);
      staleTimer = undefined;
      enter('live', null);
      markStale(false);
      finishStartup();
    }
    if (now() - lastPruneAt >= PRUNE_INTERVAL_MS) prune();
  }

  function failed(error: unknown): void {
    clearTimeout(heartbeatTimer);
    heartbeatTimer = undefined;
    connection = undefined;
    if (state === 'closed') return;
    failures += 1;
    let delay = Math.min(maxReconnectDelayMs, reconnectDelayMs * 2 ** Math.min(failures - 1, 30)) * (0.5 + random() / 2);
    let reason = describe(error);
    if (error instanceof EventStreamHttpError) {
      if (error.retryAfterMs !== undefined) delay = Math.max(delay, Math.min(error.retryAfterMs, maxReconnectDelayMs));
      // A cursor the server no longer understands (say, after a restore) would be refused forever:
      // start over from every live entry, which the set merges without harm.
      if (error.status === 400 && cursor !== null) {
        cursor = null;
        reason += '; resubscribing from the start';
      }
    }
    // The entries were current when the feed was last live: they turn stale a while after that.
    if (state === 'live') staleTimer = setTimeout(() => markStale(true), options.maxStalenessMs).unref();
    nextAttemptAt = now() + Math.round(delay);
    enter('unreachable', reason);
    retryTimer = setTimeout(connect, delay).unref();
  }

  function unsupported(reason: string): void {
    clearInterval(pruneTimer);
    enter('unsupported', reason);
    markStale(true);
    finishStartup();
  }

  function prune(): void {
    lastPruneAt = now();
    if (revocations.size === 0) return;
    if (revocations.prune(Math.floor(lastPruneAt / 1000) - options.pruneGraceSeconds) > 0) feed.version += 1;
  }

  function close(): void {
    if (state === 'closed') return;
    attempt += 1;
    connection?.close();
    connection = undefined;
    for (const timer of [heartbeatTimer, retryTimer, staleTimer]) clearTimeout(timer);
    clearInterval(pruneTimer);
    nextAttemptAt = null;
    enter('closed', lastError);
    markStale(true);
    finishStartup();
  }

  return feed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short reason for the status (the error's message and its cause's: no headers, no credentials). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 300);
}
