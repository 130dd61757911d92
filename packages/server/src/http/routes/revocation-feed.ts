import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Gauge } from 'prom-client';
import type { Metrics } from '../../support/metrics.ts';
import type { RevocationList } from '../../platform/revocation-list.ts';
import { InvalidRequest, OAuthError } from '../../oauth/errors.ts';
import { oauthErrorResponse } from '../../oauth/endpoint-support.ts';
import type { SequencedRevocation } from '../../platform/revocations.ts';
import { revocationFeedRouteSchema } from './oauth-schemas.ts';

/** Path of the revocation feed; named in the discovery metadata as `latchkey_revocation_feed_endpoint`. */
export const REVOCATION_FEED_PATH = '/oauth/revocations';

const PAGE_SIZE = 1000;
const HEARTBEAT_MS = 15_000;
// Streams beyond this many are refused (503): each holds a socket and a listener.
const MAX_STREAMS = 2000;
// A subscriber that stops reading is cut once this much waits for it; it reconnects from its cursor.
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** The cursor a subscriber sends (`after`, or an SSE `Last-Event-ID`): a feed sequence number. */
function readCursor(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw new InvalidRequest(`${name} must be a cursor returned by this feed (a decimal number)`);
  }
  return Number(value);
}

function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

/** One revocation as a Server-Sent Event: its cursor as the id, the entry as data. */
function eventOf(revocation: SequencedRevocation): string {
  return `id: ${revocation.seq}\nevent: revocation\ndata: ${JSON.stringify(revocation.entry)}\n\n`;
}

/** What the revocation feed uses: the live revocations, and the registry its stream gauge joins. */
export interface RevocationFeedRouteDeps {
  revocations: RevocationList;
  metrics: Pick<Metrics, 'registry'>;
}

/**
 * The revocation feed that resource servers follow (docs/revocation.md): `GET /oauth/revocations`.
 *
 * - As JSON, a page of live revocations after a cursor (`?after=`), for any language: poll it.
 * - As Server-Sent Events (`Accept: text/event-stream`), the same backlog, then an `event: ready`, then
 *   every new revocation as this server learns of it — at once for one made here, within the change
 *   feed's bound for one made on another instance. `Last-Event-ID` resumes after a dropped stream.
 *
 * Public, like the JWKS: it holds only identifiers that are public already (client IDs, environment
 * ids, token ids) and times, never a token. An entry disappears once every token it covers has
 * expired, so the feed stays as small as the set of live revoked tokens.
 */
export async function revocationFeedRoutes(app: FastifyInstance, deps: RevocationFeedRouteDeps): Promise<void> {
  const streams = new Set<ServerResponse>();
  const registry = deps.metrics.registry;
  if (registry.getSingleMetric('latchkey_revocation_feed_streams') === undefined) {
    new Gauge({ name: 'latchkey_revocation_feed_streams', help: 'Resource servers following the revocation feed (Server-Sent Events) on this instance', registers: [registry], collect() {
      this.set(streams.size);
    } });
  }
  // Streams never end by themselves; a server shutting down ends them so it can close.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });

  // The schema documents; the cursor is read and checked here, so a bad one is an RFC 6749 error.
  app.get(REVOCATION_FEED_PATH, { schema: revocationFeedRouteSchema, validatorCompiler: () => () => true }, async (request: FastifyRequest, reply: FastifyReply) => {
    let after: number | undefined;
    try {
      after = readCursor((request.query as { after?: unknown }).after, 'after') ?? readCursor(request.headers['last-event-id'], 'Last-Event-ID');
    } catch (error) {
      const response = oauthErrorResponse(error as OAuthError);
      return reply.code(response.statusCode).headers(response.headers).send(response.body);
    }
    if (!wantsEventStream(request)) {
      const page = deps.revocations.entriesAfter(after, PAGE_SIZE);
      return reply
        .header('cache-control', 'no-store')
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ entries: page.revocations.map((revocation) => revocation.entry), cursor: String(page.cursor), hasMore: page.hasMore }));
    }
    if (streams.size >= MAX_STREAMS) {
      const response = oauthErrorResponse(new OAuthError('temporarily_unavailable', 503, 'too many revocation feed subscribers on this instance; retry shortly', { 'retry-after': '5' }));
      return reply.code(response.statusCode).headers(response.headers).send(response.body);
    }
    streamRevocations(deps.revocations, reply, streams, after);
    return reply;
  });
}

/** Serves one Server-Sent Events subscriber until it or the server goes away. */
function streamRevocations(revocations: RevocationList, reply: FastifyReply, streams: Set<ServerResponse>, after: number | undefined): void {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise buffer the stream and delay every event.
    'x-accel-buffering': 'no',
  });
  streams.add(response);
  let cursor = after ?? 0;
  const send = (revocations: readonly SequencedRevocation[]) => {
    let text = '';
    for (const revocation of revocations) {
      if (revocation.seq <= cursor) continue;
      text += eventOf(revocation);
      cursor = revocation.seq;
    }
    if (text === '') return;
    response.write(text);
    if (response.writableLength > MAX_BUFFERED_BYTES) response.destroy();
  };
  // Subscribe before reading the backlog: nothing read in between can be missed (send skips repeats).
  const unsubscribe = revocations.subscribe(send);
  for (let page = revocations.entriesAfter(after, PAGE_SIZE); ; page = revocations.entriesAfter(page.cursor, PAGE_SIZE)) {
    send(page.revocations);
    if (!page.hasMore) {
      cursor = Math.max(cursor, page.cursor);
      break;
    }
  }
  response.write(`event: ready\ndata: ${JSON.stringify({ cursor: String(cursor) })}\n\n`);
  const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  response.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
    streams.delete(response);
  });
}
