// Each randomBytes() call crosses into OpenSSL for a few bytes, and OpenSSL checks the process ID (a
// system call) on every draw: about 5 µs for 12 bytes on a virtual machine with page-table
// isolation. The event loop needs such small values for every token and ID (a jti, an ID's random
// part) and the signing thread for every sealed token (a nonce). Drawing them from a buffer refilled
// 4 KiB at a time costs a copy instead. The bytes are the same CSPRNG output, and each is handed out
// once. Each thread has its own pool.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` fresh cryptographically secure random bytes (size ≤ 256), as a new Buffer. */
export function randomBytesPooled(size: number): Buffer {
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  // Wipe what was handed out so the pool never holds a copy of a value in use.
  pool.fill(0, offset, offset + size);
  offset += size;
  return bytes;
}
