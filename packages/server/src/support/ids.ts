import { randomBytesPooled } from './random-pool.ts';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A prefixed, time-sortable identifier (`env_…`, `int_…`, `key_…`): 10 characters of millisecond
 * time then 16 random characters, both Crockford base32, like a lower-case ULID.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytesPooled(16);
  let tail = '';
  for (const byte of random) tail += CROCKFORD[byte % 32];
  return `${prefix}_${time}${tail}`;
}
