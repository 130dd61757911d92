/**
 * Encodes a value as application/x-www-form-urlencoded (RFC 6749 Appendix B): UTF-8, then
 * percent-encoding of everything but unreserved characters, space as `+`.
 *
 * `encodeURIComponent` leaves `!'()*` alone; those are encoded too, so the output does not depend on
 * how lenient the server's decoder is.
 *
 * @example
 * formUrlEncode('veryweaksecret!'); // 'veryweaksecret%21'
 * formUrlEncode('a b+c');           // 'a+b%2Bc'
 */
export function formUrlEncode(value: string): string {
  if (typeof value !== 'string') throw new TypeError('formUrlEncode expects a string');
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    // A lone surrogate has no UTF-8 form.
    throw new TypeError('value is not well-formed Unicode');
  }
  return encoded.replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

/**
 * The `Authorization` header value for client_secret_basic (RFC 6749 §2.3.1): client ID and secret
 * are each form-urlencoded, joined by `:`, then base64-encoded.
 *
 * @example
 * basicAuthorization('78366401571920522@amce', 'veryweaksecret!');
 * // 'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx'
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  // The form-encoded text is ASCII, which is all btoa (present in browsers and Node) accepts.
  return `Basic ${btoa(`${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`)}`;
}
