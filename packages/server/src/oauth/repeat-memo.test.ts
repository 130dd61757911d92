import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RepeatMemo, type MemoEntry } from './repeat-memo.ts';

interface Entry extends MemoEntry {
  id: number;
}

const FORM = 'application/x-www-form-urlencoded';
// The content type is an explicit argument: a default would turn an absent one into FORM.
const rawWith = (authorization: string | undefined, text: string, contentType: string | undefined) => ({ authorization, body: { contentType, text } });
const raw = (authorization: string | undefined, text: string) => rawWith(authorization, text, FORM);

function entryFor(_memo: RepeatMemo<Entry>, request: ReturnType<typeof raw>, id: number): Entry {
  return { authorization: request.authorization, contentType: request.body.contentType, text: request.body.text, next: undefined, id };
}

function lookup(memo: RepeatMemo<Entry>, request: ReturnType<typeof raw>): Entry | undefined {
  return memo.get(request);
}

describe('RepeatMemo', () => {
  it('finds only the exact request: same credentials, same body, same content type', () => {
    const memo = new RepeatMemo<Entry>();
    const basic = raw('Basic Y2xpZW50OnNlY3JldA==', 'grant_type=client_credentials&scope=a');
    memo.remember(entryFor(memo, basic, 1));
    expect(lookup(memo, basic)?.id).toBe(1);
    expect(lookup(memo, raw('Basic Y2xpZW50OnNlY3JldB==', basic.body.text))).toBeUndefined();
    expect(lookup(memo, raw(basic.authorization, 'grant_type=client_credentials&scope=b'))).toBeUndefined();
    expect(lookup(memo, rawWith(basic.authorization, basic.body.text, 'application/json'))).toBeUndefined();
    // Credentials in the body: the body is the key, and an Authorization header makes it another request.
    const post = raw(undefined, 'grant_type=client_credentials&client_id=c&client_secret=s');
    memo.remember(entryFor(memo, post, 2));
    expect(lookup(memo, post)?.id).toBe(2);
    expect(lookup(memo, raw('', post.body.text))).toBeUndefined();
    expect(lookup(memo, rawWith(undefined, post.body.text, undefined))).toBeUndefined();
  });

  it('keeps several bodies per Authorization header, replaces a repeated one, forgets one at a time', () => {
    const memo = new RepeatMemo<Entry>();
    const a = raw('Basic x', 'scope=a');
    const b = raw('Basic x', 'scope=b');
    memo.remember(entryFor(memo, a, 1));
    memo.remember(entryFor(memo, b, 2));
    memo.remember(entryFor(memo, a, 3));
    expect(lookup(memo, a)?.id).toBe(3);
    expect(lookup(memo, b)?.id).toBe(2);
    memo.forget(lookup(memo, a)!);
    expect(lookup(memo, a)).toBeUndefined();
    expect(lookup(memo, b)?.id).toBe(2);
    memo.forget(lookup(memo, b)!);
    expect(memo.size).toBe(0);
    // Forgetting an entry that was already replaced leaves its successor alone.
    const old = entryFor(memo, a, 4);
    memo.remember(old);
    memo.remember(entryFor(memo, a, 5));
    memo.forget(old);
    expect(lookup(memo, a)?.id).toBe(5);
  });

  it('does not remember oversized requests and stays bounded', () => {
    const memo = new RepeatMemo<Entry>(10);
    expect(memo.accepts(raw('Basic x', 'x'.repeat(5000)))).toBe(false);
    expect(memo.accepts(raw('Basic x', 'x'.repeat(100)))).toBe(true);
    for (let i = 0; i < 100; i++) memo.remember(entryFor(memo, raw(`Basic ${i}`, 'scope=a'), i));
    expect(memo.size).toBeLessThanOrEqual(10);
    for (let i = 0; i < 100; i++) memo.remember(entryFor(memo, raw('Basic same', `scope=${i}`), i));
    let chain = 0;
    for (let i = 0; i < 100; i++) if (lookup(memo, raw('Basic same', `scope=${i}`))) chain++;
    expect(chain).toBe(8);
    expect(lookup(memo, raw('Basic same', 'scope=99'))?.id).toBe(99);
  });

  it('agrees with a plain map of exact requests under any sequence of operations', () => {
    const request = fc.record({
      authorization: fc.option(fc.constantFrom('Basic a', 'Basic b', '\u0000', ''), { nil: undefined }),
      text: fc.constantFrom('', 'scope=a', 'scope=b', '\u0000scope=a', 'Basic a'),
      contentType: fc.option(fc.constantFrom(FORM, 'application/json'), { nil: undefined }),
    });
    const operation = fc.record({ kind: fc.constantFrom('remember', 'forget', 'get'), request });
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const memo = new RepeatMemo<Entry>();
        const model = new Map<string, Entry>();
        const exact = (r: { authorization?: string; text: string; contentType?: string }) => JSON.stringify([r.authorization ?? null, r.contentType ?? null, r.text]);
        operations.forEach(({ kind, request: r }, id) => {
          const rq = rawWith(r.authorization, r.text, r.contentType);
          const found = lookup(memo, rq);
          // Whatever the memo returns is exactly what the model holds for this request.
          expect(found).toBe(model.get(exact(r)));
          if (kind === 'remember') {
            const entry = entryFor(memo, rq, id);
            memo.remember(entry);
            model.set(exact(r), entry);
          } else if (kind === 'forget' && found) {
            memo.forget(found);
            model.delete(exact(r));
          }
        });
      }),
      { numRuns: 500 },
    );
  });
});
