import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchLike } from './issuer-metadata.ts';

/** The feed answered, but not with `200 text/event-stream`. */
export class EventStreamHttpError extends Error {
  override readonly name = 'EventStreamHttpError';
  constructor(
    message: string,
    readonly status: number,
    /** From `Retry-After` (delta-seconds only), in milliseconds. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** Callbacks of {@link openEventStream}; none is called after `close()`. */
export interface EventStreamHandlers {
  /** The server answered 200 with `text/event-stream`. */
  readonly onOpen: () => void;
  /** Decoded text as it arrives (UTF-8 sequences split across packets are joined first). */
  readonly onText: (text: string) => void;
  /** The stream is over (ended, failed, refused); called once. */
  readonly onClose: (error: Error) => void;
}

/** A stream being received. */
export interface EventStreamConnection {
  /** Aborts the request or stream; no handler is called afterwards. */
  close(): void;
}

/**
 * Opens a long-lived `GET` for a `text/event-stream` (WHATWG HTML §9.2).
 *
 * Without `fetchImpl` it uses node:http(s) on a socket of its own that is unref'd, so an open
 * subscription never keeps the process alive. With a caller's `fetch` it streams the response body
 * and aborts through an AbortController; whether that keeps the process alive is up to that fetch.
 *
 * @example
 * const stream = openEventStream(url, { 'last-event-id': cursor }, { onOpen, onText, onClose });
 * stream.close();
 */
export function openEventStream(
  url: string,
  headers: Readonly<Record<string, string>>,
  handlers: EventStreamHandlers,
  fetchImpl?: FetchLike,
): EventStreamConnection {
  let closed = false;
  const guarded: EventStreamHandlers = {
    onOpen: () => {
      if (!closed) handlers.onOpen();
    },
    onText: (text) => {
      if (!closed) handlers.onText(text);
    },
    onClose: (error) => {
      if (closed) return;
      closed = true;
      handlers.onClose(error);
    },
  };
  const requestHeaders = { ...headers, accept: 'text/event-stream', 'cache-control': 'no-store' };
  let abort = () => undefined as void;
  try {
    abort = fetchImpl === undefined ? openWithNode(url, requestHeaders, guarded) : openWithFetch(url, requestHeaders, guarded, fetchImpl);
  } catch (error) {
    // Say it like any other failure (asynchronously), e.g. a header node:http refuses.
    queueMicrotask(() => guarded.onClose(error instanceof Error ? error : new Error(String(error))));
  }
  return {
    close() {
      if (closed) return;
      closed = true;
      abort();
    },
  };
}

function openWithNode(url: string, headers: Record<string, string>, handlers: EventStreamHandlers): () => void {
  const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: 'GET', headers, agent: false });
  const fail = (error: Error) => {
    handlers.onClose(error);
    request.destroy();
  };
  // A socket of our own (agent: false), unref'd: an idle subscription must not keep the process alive.
  request.on('socket', (socket) => socket.unref());
  request.on('error', fail);
  request.on('close', () => fail(new Error('the feed closed the connection')));
  request.on('response', (response: IncomingMessage) => {
    const problem = responseProblem(url, response.statusCode ?? 0, headerOf(response.headers['content-type']), headerOf(response.headers['retry-after']));
    if (problem !== undefined) {
      response.resume();
      return fail(problem);
    }
    handlers.onOpen();
    response.setEncoding('utf8');
    response.on('data', (text: string) => {
      try {
        handlers.onText(text);
      } catch (error) {
        fail(error as Error);
      }
    });
    response.on('end', () => fail(new Error('the feed ended the stream')));
    response.on('error', fail);
  });
  request.end();
  return () => request.destroy();
}

function openWithFetch(url: string, headers: Record<string, string>, handlers: EventStreamHandlers, fetchImpl: FetchLike): () => void {
  const controller = new AbortController();
  void (async () => {
    const response = await fetchImpl(url, { headers, signal: controller.signal });
    const problem = responseProblem(url, response.status, response.headers.get('content-type') ?? undefined, response.headers.get('retry-after') ?? undefined);
    if (problem !== undefined || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      throw problem ?? new Error('the feed answered without a body');
    }
    handlers.onOpen();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      handlers.onText(decoder.decode(value, { stream: true }));
    }
    throw new Error('the feed ended the stream');
  })().catch((error: unknown) => {
    controller.abort();
    handlers.onClose(error instanceof Error ? error : new Error(String(error)));
  });
  return () => controller.abort();
}

/** Why a response cannot be the feed, or `undefined` when it is `200 text/event-stream`. */
function responseProblem(url: string, status: number, contentType: string | undefined, retryAfter: string | undefined): Error | undefined {
  if (status !== 200) {
    // RFC 9110 §10.2.3; only delta-seconds: an HTTP date would need our clock to agree with theirs.
    const seconds = retryAfter !== undefined && /^\d{1,6}$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;
    return new EventStreamHttpError(`GET ${redactUrl(url)} answered HTTP ${status}`, status, seconds === undefined ? undefined : seconds * 1000);
  }
  if (!/^text\/event-stream\s*(;|$)/i.test(contentType ?? '')) {
    return new Error(`GET ${redactUrl(url)} answered ${contentType === undefined ? 'without a content type' : contentType.slice(0, 100)}, not text/event-stream`);
  }
  return undefined;
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The URL without user info or query, for messages that may end up in logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
