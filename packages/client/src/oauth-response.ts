// Reading what an OAuth token endpoint (or an app backend speaking its language) answered: shared by
// the backend client and the browser entry, so it uses nothing but the language (no Node APIs).

/** The `error` / `error_description` of an RFC 6749 §5.2 body, with stand-ins when the body has none. */
export function readOAuthError(status: number, text: string): { error: string; errorDescription: string | undefined } {
  let error: string | undefined;
  let description: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') error = body.error;
    if (typeof body.error_description === 'string') description = body.error_description;
  } catch {
    // Not RFC 6749 §5.2 JSON (a proxy's HTML page, say): fall back to the status below.
  }
  return {
    error: printable(error, 64) ?? (status === 429 || status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : 'invalid_request'),
    errorDescription: printable(description, 300),
  };
}

/**
 * `expires_in` (RFC 6749 §5.1) as a number of seconds: `undefined` when absent, `null` when it is
 * not a non-negative number. Some servers send it as a numeric string.
 */
export function readExpiresIn(value: unknown): number | undefined | null {
  if (value === undefined) return undefined;
  const lifetime = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof lifetime === 'number' && Number.isFinite(lifetime) && lifetime >= 0 ? lifetime : null;
}

/** The JSON object a successful answer carries, or a message saying why it is not one. */
export function readJsonObject(text: string): Record<string, unknown> | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'without a JSON body';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'with JSON that is not an object';
  return body as Record<string, unknown>;
}

/** Printable ASCII only, truncated: server text goes into error messages and logs. */
export function printable(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const cleaned = text.replace(/[^\x20-\x7E]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max)}...` : cleaned;
}
