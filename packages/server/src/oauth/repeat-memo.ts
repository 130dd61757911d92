import type { TokenRequestBody } from './token-request.ts';

/** The raw parts of a token request that identify an exact repeat of it. */
export interface RawTokenRequest {
  authorization: string | undefined;
  body: TokenRequestBody;
}

/** An entry of the memo: the raw request it was made from, and what the caller keeps with it. */
export interface MemoEntry {
  /** The Authorization header, or undefined when the credentials are in the body. */
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly text: string;
  /** Another remembered request with the same key (a different body). */
  next: MemoEntry | undefined;
}

// Requests whose raw form (Authorization header + body) is longer than this are not remembered.
const RAW_MAX = 2048;
// Distinct bodies remembered per key (one client asking for several scope sets or audiences).
const BODIES_PER_KEY = 8;

/**
 * Remembers raw token requests, to recognise an exact repeat without parsing it. Machine clients send
 * byte-identical token requests again and again.
 *
 * The key is the part that carries the credentials: the Authorization header, or the body when there
 * is none (client_secret_post), each in a map of its own. Hashing a key is most of the cost of a
 * lookup, so the key is one string as received, not a concatenation to build and hash on every
 * request; bodies under the same Authorization header are then told apart by plain comparison —
 * which only someone who sent that exact header, credentials included, ever reaches.
 *
 * Keys hold credentials, like the verified-secret memo (hot-path-caches.ts): they live only in
 * this process's memory, which already holds the master key that protects every secret.
 */
export class RepeatMemo<Entry extends MemoEntry> {
  /** Requests with an Authorization header, by that header; requests without one, by their body. */
  private readonly byAuthorization = new Map<string, Entry>();
  private readonly byBody = new Map<string, Entry>();

  constructor(private readonly maxKeys = 20_000) {}

  /** Whether a request is small enough to remember. */
  accepts(request: RawTokenRequest): boolean {
    const { authorization, body } = request;
    return body.text.length + (authorization?.length ?? 0) + (body.contentType?.length ?? 0) <= RAW_MAX;
  }

  /** The entry remembered for exactly this request, if any. */
  get(request: RawTokenRequest): Entry | undefined {
    const { authorization, body } = request;
    let entry: MemoEntry | undefined = authorization === undefined ? this.byBody.get(body.text) : this.byAuthorization.get(authorization);
    while (entry !== undefined && (entry.text !== body.text || entry.contentType !== body.contentType)) entry = entry.next;
    return entry as Entry | undefined;
  }

  /** Remembers `entry` in place of any entry for the same request. */
  remember(entry: Entry): void {
    const entries = this.mapOf(entry);
    const key = entry.authorization ?? entry.text;
    if (entries.size >= this.maxKeys && !entries.has(key)) entries.clear();
    // Relink the other bodies under this key behind the new entry, at most BODIES_PER_KEY in all.
    let tail: MemoEntry = entry;
    let kept = 1;
    for (let other: MemoEntry | undefined = entries.get(key); other !== undefined && kept < BODIES_PER_KEY; ) {
      const next: MemoEntry | undefined = other.next;
      if (other.text !== entry.text || other.contentType !== entry.contentType) {
        tail = tail.next = other;
        kept++;
      }
      other = next;
    }
    tail.next = undefined;
    entries.set(key, entry);
  }

  /** Forgets `entry` (no longer valid), keeping the other bodies under its key. */
  forget(entry: Entry): void {
    const entries = this.mapOf(entry);
    const key = entry.authorization ?? entry.text;
    const head = entries.get(key);
    if (head === undefined) return;
    if (head === entry) {
      if (entry.next === undefined) entries.delete(key);
      else entries.set(key, entry.next as Entry);
      return;
    }
    for (let previous: MemoEntry = head; previous.next !== undefined; previous = previous.next) {
      if (previous.next === entry) {
        previous.next = entry.next;
        return;
      }
    }
  }

  /** Forgets every entry. */
  clear(): void {
    this.byAuthorization.clear();
    this.byBody.clear();
  }

  /** Number of keys remembered (for tests). */
  get size(): number {
    return this.byAuthorization.size + this.byBody.size;
  }

  private mapOf(entry: MemoEntry): Map<string, Entry> {
    return entry.authorization === undefined ? this.byBody : this.byAuthorization;
  }
}
