import { InvalidRequest, quoteForDescription } from '../oauth/errors.ts';
import { findRepeatedTopLevelKey, type TokenRequestBody } from '../oauth/token-request.ts';

/** The media type of a Content-Type header value, lower-cased, without parameters (charset=…). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Interprets a token request body by its content type (RFC 6749 §3.2: form; JSON as the seed's
 * samples send it). Shared by the Fastify route and the node:http fast path so both behave alike.
 */
export function readTokenBody(contentType: string | undefined, text: string): TokenRequestBody {
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') return { kind: 'form', text };
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new InvalidRequest('the body is not valid JSON');
    }
    const repeated = findRepeatedTopLevelKey(text);
    if (repeated !== undefined) throw new InvalidRequest(`parameter ${quoteForDescription(repeated)} is repeated; send each parameter once`);
    return { kind: 'json', value };
  }
  throw new InvalidRequest(`content type ${quoteForDescription(contentType ?? '')} is not supported; send application/x-www-form-urlencoded or application/json`);
}
