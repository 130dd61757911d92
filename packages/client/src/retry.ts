/**
 * Milliseconds to wait according to a `Retry-After` header (RFC 9110 §10.2.3): either
 * delay-seconds or an HTTP-date. `undefined` when absent or unreadable.
 *
 * @example
 * parseRetryAfter('2', Date.now());                              // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.now());  // 0 (in the past)
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only accept something that looks like a date, not any string Date.parse happens to read.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Exponential backoff with full jitter: a uniformly random delay between 0 and
 * `min(maxMs, baseMs * 2^attempt)`, so clients that failed together do not retry together.
 *
 * @example
 * backoffDelay(0, 200, 10_000); // somewhere in [0, 200)
 * backoffDelay(3, 200, 10_000); // somewhere in [0, 1600)
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}
