/** `size` fresh cryptographically secure random bytes (size ≤ 256), as a new Buffer (see random-pool.js). */
export function randomBytesPooled(size: number): Buffer;
