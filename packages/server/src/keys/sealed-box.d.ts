/** See sealed-box.js: AES-256-GCM, 'v1.' + base64url(nonce | ciphertext | tag), `context` as associated data. */
export function seal(key: Buffer, plaintext: string, context: string): string;
/** Reverses seal(); throws if the key, context or bytes are wrong. */
export function open(key: Buffer, sealed: string, context: string): string;
