import fs from 'node:fs';
import path from 'node:path';
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../storage/database.ts';
import { settleSetting } from '../storage/repositories/settings.ts';
import { ConfigError, type Config } from '../config/load-config.ts';

/** Keys derived from the master key, one per purpose, so no key is ever used for two things. */
export interface DerivedKeys {
  /** HMAC key for client secret hashes. */
  secretHashKey: Buffer;
  /** AES-256-GCM key sealing signing keys at rest. */
  signingKeySealKey: Buffer;
  /** AES-256-GCM key sealing cached access tokens at rest. */
  tokenSealKey: Buffer;
}

const MASTER_KEY_FILE = 'master.key';

function decodeMasterKey(text: string, origin: string): Buffer {
  const bytes = Buffer.from(text.trim(), 'base64url');
  if (bytes.length < 32) {
    throw new ConfigError(`${origin} must be at least 32 random bytes, base64url-encoded (e.g. openssl rand -base64 32)`);
  }
  return bytes;
}

/**
 * Resolves the master key: LATCHKEY_MASTER_KEY if set; otherwise, for SQLite only, a key generated
 * once into <dataDir>/master.key with mode 0600. PostgreSQL deployments share one database between
 * instances, so each instance must be given the same key explicitly.
 */
export function resolveMasterKey(config: Config): Buffer {
  if (config.masterKey) return decodeMasterKey(config.masterKey, 'LATCHKEY_MASTER_KEY');
  if (!config.databaseUrl.startsWith('sqlite:')) {
    throw new ConfigError('LATCHKEY_MASTER_KEY is required with PostgreSQL (every instance needs the same key): generate one with openssl rand -base64 32');
  }
  const file = path.join(config.dataDir, MASTER_KEY_FILE);
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    // 'wx' fails if the file exists, so two processes starting together cannot both write a key.
    fs.writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return decodeMasterKey(fs.readFileSync(file, 'utf8'), file);
}

/** Derives the per-purpose keys with HKDF-SHA256 (RFC 5869). */
export function deriveKeys(masterKey: Buffer): DerivedKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `latchkey/${info}/v1`, 32));
  return {
    secretHashKey: derive('client-secret-hash'),
    signingKeySealKey: derive('signing-key-seal'),
    tokenSealKey: derive('token-seal'),
  };
}

const CHECK_SETTING = 'master_key_check';

/**
 * Makes sure the master key is the one this database was set up with. The first process to run
 * stores a check value (an HMAC of a fixed label under a key derived from the master key — it reveals
 * nothing about the key); every later process compares. Without this, a server with the wrong key
 * fails with an opaque decryption error, and a CLI with the wrong key would create integrations whose
 * secrets no server can ever verify.
 */
export async function verifyMasterKey(database: Database, masterKey: Buffer): Promise<void> {
  const check = createHmac('sha256', Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'latchkey/master-key-check/v1', 32))).update('latchkey').digest('base64url');
  const stored = await settleSetting(database.db, CHECK_SETTING, check);
  const [a, b] = [Buffer.from(stored), Buffer.from(check)];
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new ConfigError('LATCHKEY_MASTER_KEY does not match the key this database was set up with: use the original key (with SQLite, the data directory\'s master.key)');
  }
}
