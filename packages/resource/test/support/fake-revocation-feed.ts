// A stand-in for Latchkey's revocation feed (GET /oauth/revocations, Server-Sent Events), on a
// loopback server of its own so that a test can refuse connections to it while the issuer's
// metadata and keys stay up. Each test shapes it: push entries, drop or end streams, go silent,
// hold back `ready`, answer an HTTP error, or write raw bytes.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RevocationEntry } from '../../src/revocation-set.ts';

/** One subscription request the feed received. */
export interface FeedConnection {
  readonly lastEventId: string | undefined;
  readonly accept: string | undefined;
}

export class FakeRevocationFeed {
  url = '';
  /** Every entry written, in order; an entry's cursor is its position (1-based), as a string. */
  entries: RevocationEntry[] = [];
  /** Every subscription request, answered or not. */
  readonly connections: FeedConnection[] = [];
  /** Answer new subscriptions with this HTTP status (and `Retry-After`) instead of a stream. */
  failWith: { status: number; retryAfter?: string } | undefined;
  /** Write nothing more to any stream (no entries, no ready, no keep-alive); new streams get headers only. */
  silent = false;
  /** Do not send `ready` to new streams (entries are still sent). */
  holdReady = false;
  /** `\n` or `\r\n`. */
  lineEnding = '\n';
  contentType = 'text/event-stream';
  /** Send `: keep-alive` this often, when set. */
  keepAliveMs: number | undefined;
  /** Answer a subscription only after this long (a slow feed, or a long catch-up). */
  answerAfterMs = 0;
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();
  readonly #sockets = new Set<Socket>();
  #port = 0;

  private constructor() {
    this.#server = createServer((request, response) => this.#handle(request, response));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<FakeRevocationFeed> {
    const feed = new FakeRevocationFeed();
    await new Promise<void>((resolve) => feed.#server.listen(0, '127.0.0.1', resolve));
    feed.#port = (feed.#server.address() as AddressInfo).port;
    feed.url = `http://127.0.0.1:${feed.#port}/oauth/revocations`;
    return feed;
  }

  /** Streams currently open. */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Appends entries and sends them to every open stream (unless silent); returns the last cursor. */
  push(...entries: RevocationEntry[]): string {
    for (const entry of entries) {
      this.entries.push(entry);
      this.#broadcast(this.#event(this.entries.length, entry));
    }
    return String(this.entries.length);
  }

  /** Writes raw text to every open stream, as a broken or hostile feed would. */
  sendRaw(text: string): void {
    this.#broadcast(text);
  }

  /** Sends `ready` to every open stream (after `holdReady`). */
  sendReady(): void {
    this.#broadcast(this.#ready());
  }

  /** Destroys every connection abruptly (a crash, a network cut). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Ends every stream cleanly (a restart). */
  endStreams(): void {
    for (const stream of this.#streams) stream.end();
  }

  /** Stops listening: new connections are refused (ECONNREFUSED); open ones are dropped. */
  async refuse(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.dropConnections();
    await closed;
  }

  /** Listens again, on the same port. */
  async accept(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.#port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    await this.refuse();
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname !== '/oauth/revocations') return json(response, 404, { error: 'not_found' });
    const lastEventId = header(request, 'last-event-id') ?? url.searchParams.get('after') ?? undefined;
    this.connections.push({ lastEventId, accept: header(request, 'accept') });
    if (this.answerAfterMs > 0) setTimeout(() => this.#answer(response, lastEventId), this.answerAfterMs);
    else this.#answer(response, lastEventId);
  }

  #answer(response: ServerResponse, lastEventId: string | undefined): void {
    if (response.destroyed) return;
    if (this.failWith !== undefined) {
      response.writeHead(this.failWith.status, {
        'content-type': 'application/json',
        ...(this.failWith.retryAfter === undefined ? {} : { 'retry-after': this.failWith.retryAfter }),
      });
      return void response.end(JSON.stringify({ error: 'temporarily_unavailable' }));
    }
    if (lastEventId !== undefined && (!/^\d+$/.test(lastEventId) || Number(lastEventId) > this.entries.length)) {
      return json(response, 400, { error: 'invalid_request', error_description: 'after is not a cursor of this feed' });
    }
    response.writeHead(200, { 'content-type': this.contentType, 'cache-control': 'no-store' });
    response.flushHeaders();
    this.#streams.add(response);
    let keepAlive: NodeJS.Timeout | undefined;
    response.on('close', () => {
      this.#streams.delete(response);
      clearInterval(keepAlive);
    });
    if (this.keepAliveMs !== undefined) {
      keepAlive = setInterval(() => {
        if (!this.silent) response.write(`: keep-alive${this.lineEnding}${this.lineEnding}`);
      }, this.keepAliveMs);
    }
    if (this.silent) return;
    const after = lastEventId === undefined ? 0 : Number(lastEventId);
    let text = '';
    for (let index = after; index < this.entries.length; index++) text += this.#event(index + 1, this.entries[index] as RevocationEntry);
    if (!this.holdReady) text += this.#ready();
    if (text !== '') response.write(text);
  }

  #event(cursor: number, entry: RevocationEntry): string {
    const end = this.lineEnding;
    return `id: ${cursor}${end}event: revocation${end}data: ${JSON.stringify(entry)}${end}${end}`;
  }

  #ready(): string {
    const end = this.lineEnding;
    return `event: ready${end}data: ${JSON.stringify({ cursor: String(this.entries.length) })}${end}${end}`;
  }

  #broadcast(text: string): void {
    if (this.silent) return;
    for (const stream of this.#streams) stream.write(text);
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
