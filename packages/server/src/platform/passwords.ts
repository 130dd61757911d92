import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Admin passwords are chosen by people, so they get a slow, memory-hard KDF: scrypt with
// N=2^15, r=8, p=1 (RFC 7914; OWASP's minimum), about 32 MiB and tens of milliseconds per check.
// Format: scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>, so parameters can be raised later.

const LOG2_N = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** log2n, r, p, maxmem: 256 * 2 ** log2n * r };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** Hashes a password for storage. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, LOG2_N, R, P);
  return `scrypt$${LOG2_N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

// Checked against when the email is unknown, so a wrong email costs what a wrong password costs.
const DUMMY_HASH = `scrypt$${LOG2_N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

/** True when `password` matches `stored`; with `stored` undefined, does the same work and returns false. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const [scheme, log2n, r, p, salt, hash] = (stored ?? DUMMY_HASH).split('$');
  if (scheme !== 'scrypt' || !log2n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), Number(log2n), Number(r), Number(p));
  return stored !== undefined && actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A generated password: 20 characters from an unambiguous alphabet (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from(randomBytes(20), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** Checks a chosen password: 12+ characters (NIST SP 800-63B favours length over composition rules). */
export function passwordProblem(password: string): string | null {
  if (password.length < 12) return 'password must be at least 12 characters long';
  if (password.length > 200) return 'password must be at most 200 characters long';
  return null;
}
