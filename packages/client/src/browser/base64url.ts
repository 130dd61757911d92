// base64url (RFC 4648 §5, no padding) with what browsers and Node 20 both have (btoa, TextEncoder):
// the browser entry must not touch Buffer or any other Node API.

/** base64url of raw bytes, without padding. */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  // Chunked: String.fromCharCode(...view) would overflow the argument limit on large inputs.
  for (let offset = 0; offset < view.length; offset += 0x8000) {
    binary += String.fromCharCode(...view.subarray(offset, offset + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url of a string's UTF-8 bytes, without padding. */
export function base64urlText(text: string): string {
  return base64url(new TextEncoder().encode(text));
}
