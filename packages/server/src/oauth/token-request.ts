import { isJsonNestedDeeperThan, MAX_JSON_DEPTH } from '../support/json-nesting.ts';
import { InvalidRequest, quoteForDescription } from './errors.ts';

/**
 * The token request body as both HTTP paths (the node:http fast path and the Fastify route) hand it
 * over: not interpreted yet. It is read by its content type (readTokenParameters) only when the
 * request is not an exact repeat, and in one place for both paths, so they answer alike.
 */
export interface TokenRequestBody {
  contentType: string | undefined;
  text: string;
}

/** A token request body read by its content type. */
type ReadTokenBody = { kind: 'form'; text: string } | { kind: 'json'; value: unknown } | { kind: 'none' };

/** The media type of a Content-Type header value, lower-cased, without parameters (charset=…). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Interprets a token request body by its content type (RFC 6749 §3.2: form; JSON as the seed's samples send it). */
function readTokenBody(contentType: string | undefined, text: string): ReadTokenBody {
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') return { kind: 'form', text };
  if (type === 'application/json') {
    if (isJsonNestedDeeperThan(text)) throw new InvalidRequest(`the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
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

/**
 * The request's parameters by name. RFC 6749 §3.2 / checklist 4: a repeated parameter is an error,
 * an empty value counts as absent, unknown parameters are ignored.
 */
export type TokenParameters = ReadonlyMap<string, string>;

/**
 * The parameters read from a body. A JSON parameter whose value is not a string is an error only if
 * the endpoint reads it: unknown parameters are ignored whatever their value, in JSON as in forms.
 */
class ReadParameters extends Map<string, string> {
  /** Parameters sent with a JSON value that is not a string (nor null), with what they were. */
  private readonly notStrings = new Map<string, string>();

  /** Records a parameter whose JSON value is `what` (an array, a number, …). */
  setNotString(name: string, what: string): void {
    this.notStrings.set(name, what);
  }

  override get(name: string): string | undefined {
    const what = this.notStrings.size === 0 ? undefined : this.notStrings.get(name);
    if (what !== undefined) throw new InvalidRequest(`parameter ${quoteForDescription(name)} must be a string, got ${what}`);
    return super.get(name);
  }
}

function addParameter(params: ReadParameters, seen: Set<string>, name: string, value: string): void {
  if (seen.has(name)) throw new InvalidRequest(`parameter ${quoteForDescription(name)} is repeated; send each parameter once`);
  seen.add(name);
  if (value !== '') params.set(name, value);
}

/**
 * The first key that appears twice at the top level of a JSON object text, if any. JSON.parse keeps
 * the last of repeated keys silently, which would let `{"client_secret":"a","client_secret":"b"}`
 * through; a repeated parameter is invalid_request in JSON exactly as in a form (checklist 4).
 * Expects text JSON.parse has already accepted.
 */
export function findRepeatedTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return undefined;
}

/** Reads the parameters of a form (RFC 6749 §3.2) or JSON body; throws InvalidRequest on anything malformed. */
export function readTokenParameters(received: TokenRequestBody): TokenParameters {
  const params = new ReadParameters();
  const seen = new Set<string>();
  // An empty body without a content type is "no body", not an unsupported content type.
  const body: ReadTokenBody = received.text === '' && received.contentType === undefined ? { kind: 'none' } : readTokenBody(received.contentType, received.text);

  if (body.kind === 'none') {
    throw new InvalidRequest('the request has no body: send the parameters as application/x-www-form-urlencoded or application/json');
  }
  if (body.kind === 'form') {
    for (const [name, value] of new URLSearchParams(body.text)) addParameter(params, seen, name, value);
    return params;
  }
  const value = body.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequest('the JSON body must be an object of string parameters, e.g. {"grant_type":"client_credentials"}');
  }
  for (const [name, field] of Object.entries(value)) {
    if (field === null || field === undefined) continue;
    if (typeof field !== 'string') params.setNotString(name, Array.isArray(field) ? 'an array' : typeof field);
    else addParameter(params, seen, name, field);
  }
  return params;
}

/**
 * Whether a request carries more than one Authorization header (`rawHeaders` as Node gives them).
 * Node keeps only the first, so a second one added by a client or a proxy would be silently
 * ignored; two sets of credentials are two authentication methods (RFC 6749 §2.3): refuse them.
 */
export function isAuthorizationRepeated(rawHeaders: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length !== 13 || rawHeaders[i]!.toLowerCase() !== 'authorization') continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/** invalid_request for a request with two Authorization headers. */
export const repeatedAuthorization = (): InvalidRequest => new InvalidRequest('the Authorization header is repeated; send one set of credentials');

const CREDENTIAL_PARAMETERS = ['client_secret', 'client_id', 'client_assertion'];

/** Parameters that carry credentials must never appear in a URL (RFC 6749 §2.3.1, RFC 9700 §4.15). */
export function rejectCredentialsInQuery(query: Record<string, unknown> | undefined): void {
  if (!query) return;
  for (const name of CREDENTIAL_PARAMETERS) {
    if (name in query) {
      throw new InvalidRequest(`${name} must not be sent in the URL query string (URLs end up in logs); send it in the request body or with HTTP Basic authentication`);
    }
  }
}
