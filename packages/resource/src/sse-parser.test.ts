import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseLimitError, SseParser } from './sse-parser.ts';
import type { ServerSentEvent } from './sse-parser.ts';

function parse(chunks: readonly string[], options: { lastEventId?: string; maxLength?: number } = {}) {
  const events: ServerSentEvent[] = [];
  const comments: string[] = [];
  const parser = new SseParser({ onEvent: (event) => events.push(event), onComment: (comment) => comments.push(comment) }, options);
  for (const chunk of chunks) parser.push(chunk);
  return { events, comments, lastEventId: parser.lastEventId };
}

describe('SseParser (WHATWG event stream)', () => {
  it('reads id, event and data, and keeps the id for later events', () => {
    const { events } = parse(['id: 1\nevent: revocation\ndata: {"a":1}\n\ndata: second\n\n']);
    expect(events).toEqual([
      { type: 'revocation', data: '{"a":1}', lastEventId: '1' },
      { type: 'message', data: 'second', lastEventId: '1' },
    ]);
  });

  it('joins multi-line data with LF and removes only one space after the colon', () => {
    const { events } = parse(['data:first\ndata:  second\ndata\ndata: \n\n']);
    expect(events).toEqual([{ type: 'message', data: 'first\n second\n\n', lastEventId: '' }]);
  });

  it('accepts CRLF, CR and LF line ends, also mixed', () => {
    const { events } = parse(['event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\revent: c\ndata: 3\n\n']);
    expect(events.map((event) => `${event.type}=${event.data}`)).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('reports comments and does not dispatch them', () => {
    const { events, comments } = parse([': keep-alive\n\n:x\n\n']);
    expect(events).toEqual([]);
    expect(comments).toEqual(['keep-alive', 'x']);
  });

  it('does not dispatch an event without data, but takes its id', () => {
    const { events, lastEventId } = parse(['id: 7\nevent: nothing\n\n']);
    expect(events).toEqual([]);
    expect(lastEventId).toBe('7');
  });

  it('does not count the id of an event cut off before its blank line', () => {
    const { events, lastEventId } = parse(['id: 1\ndata: a\n\nid: 2\ndata: b\n'], { lastEventId: '0' });
    expect(events).toHaveLength(1);
    expect(lastEventId).toBe('1');
  });

  it('ignores an id containing NUL, retry and unknown fields', () => {
    const { events } = parse(['id: 1\n\nid: a\0b\nretry: 10\nfoo: bar\ndata: x\n\n']);
    expect(events).toEqual([{ type: 'message', data: 'x', lastEventId: '1' }]);
  });

  it('skips a byte order mark at the start only', () => {
    const { events } = parse(['\uFEFFdata: a\n\n', '\uFEFFdata: b\n\n']);
    expect(events).toEqual([{ type: 'message', data: 'a', lastEventId: '' }]);
  });

  it('gives the same events however the stream is split into chunks', () => {
    const stream =
      '\uFEFF: hello\r\nid: 1\r\nevent: revocation\r\ndata: {"type":"token"}\r\n\r\n' +
      'id: 2\revent: revocation\rdata: line1\rdata: line2\r\r' +
      'event: ready\ndata: {"cursor":"2"}\n\n: keep-alive\n\ndata: é ✓\n\n';
    const whole = parse([stream]);
    expect(whole.events).toHaveLength(4);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
        const chunks = points.slice(1).map((end, index) => stream.slice(points[index], end));
        expect(parse(chunks)).toEqual(whole);
      }),
    );
  });

  it('bounds a line and an event data, so a stream without line ends cannot grow memory forever', () => {
    expect(() => parse(['x'.repeat(101)], { maxLength: 100 })).toThrow(SseLimitError);
    expect(() => parse(['data: aaaaaaaaaa\n'.repeat(20)], { maxLength: 100 })).toThrow(SseLimitError);
    expect(parse(['data: aaaaaaaaaa\n\n'.repeat(20)], { maxLength: 100 }).events).toHaveLength(20);
  });
});
