/** One dispatched Server-Sent Event. */
export interface ServerSentEvent {
  /** The `event` field; `message` when the event named none. */
  readonly type: string;
  /** The `data` lines joined with `\n`. */
  readonly data: string;
  /** The last event ID after this event (the stream's, carried over from earlier events). */
  readonly lastEventId: string;
}

/** Callbacks of {@link SseParser}. */
export interface SseHandlers {
  readonly onEvent: (event: ServerSentEvent) => void;
  /** A comment line (`: keep-alive`), without the colon. */
  readonly onComment?: (comment: string) => void;
}

/** A line (or an event's data) longer than the parser's limit. */
export class SseLimitError extends Error {
  override readonly name = 'SseLimitError';
}

/**
 * An incremental `text/event-stream` parser (WHATWG HTML §9.2.6 "Interpreting an event stream"):
 * CRLF, LF or CR line ends, possibly split across chunks; `field: value` lines with one optional
 * space after the colon; `data` lines joined with LF; comments; an empty line dispatches; an event
 * with no data is not dispatched. `retry` is ignored: reconnection follows our own backoff.
 *
 * The text must already be decoded (UTF-8, streaming). Lines and events are bounded by
 * `maxLength` characters so that a broken stream without line ends cannot grow memory forever.
 *
 * @example
 * const parser = new SseParser({ onEvent: (event) => console.log(event.type, event.data) });
 * parser.push('event: ready\r\ndata: {}\r\n\r\n');
 */
export class SseParser {
  readonly #handlers: SseHandlers;
  readonly #maxLength: number;
  #partial = '';
  #afterCR = false;
  #started = false;
  #type = '';
  #data: string[] = [];
  #dataLength = 0;
  #idBuffer: string;
  #lastEventId: string;

  constructor(handlers: SseHandlers, options: { lastEventId?: string; maxLength?: number } = {}) {
    this.#handlers = handlers;
    this.#maxLength = options.maxLength ?? 1_048_576;
    this.#lastEventId = options.lastEventId ?? '';
    this.#idBuffer = this.#lastEventId;
  }

  /** The ID of the last dispatched event (an `id` whose event was cut off does not count). */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Feeds decoded text; dispatches every event it completes. Throws {@link SseLimitError}. */
  push(text: string): void {
    let start = 0;
    if (!this.#started && text !== '') {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) start = 1; // a UTF-8 BOM, once, at the very start
    }
    // A CR ended the previous chunk: a LF starting this one belongs to the same line end.
    if (this.#afterCR && text !== '') {
      this.#afterCR = false;
      if (text.charCodeAt(start) === 0x0a) start += 1;
    }
    for (let index = start; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code !== 0x0a && code !== 0x0d) continue;
      const line = this.#partial + text.slice(start, index);
      this.#partial = '';
      if (code === 0x0d) {
        if (index + 1 === text.length) this.#afterCR = true;
        else if (text.charCodeAt(index + 1) === 0x0a) index += 1;
      }
      start = index + 1;
      this.#line(line);
    }
    if (start < text.length) {
      this.#partial += text.slice(start);
      if (this.#partial.length > this.#maxLength) throw new SseLimitError(`an event stream line is longer than ${this.#maxLength} characters`);
    }
  }

  #line(line: string): void {
    if (line === '') return this.#dispatch();
    if (line.charCodeAt(0) === 0x3a) {
      this.#handlers.onComment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#type = value;
        break;
      case 'data':
        this.#dataLength += value.length + 1;
        if (this.#dataLength > this.#maxLength) throw new SseLimitError(`an event's data is longer than ${this.#maxLength} characters`);
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#idBuffer = value;
        break;
      default:
        // `retry` and unknown fields are ignored, as the standard says for unknown ones.
        break;
    }
  }

  #dispatch(): void {
    this.#lastEventId = this.#idBuffer;
    const data = this.#data;
    const type = this.#type;
    this.#data = [];
    this.#dataLength = 0;
    this.#type = '';
    if (data.length === 0) return;
    this.#handlers.onEvent({ type: type === '' ? 'message' : type, data: data.join('\n'), lastEventId: this.#lastEventId });
  }
}
