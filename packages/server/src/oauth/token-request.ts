import { InvalidRequest, quoteForDescription } from './errors.ts';

/** The token request body as the HTTP layer received it, before interpretation. */
export type TokenRequestBody =
  | { kind: 'form'; text: string }
  | { kind: 'json'; value: unknown }
  | { kind: 'none' };

/**
 * The request's parameters by name. RFC 6749 §3.2 / checklist 4: a repeated parameter is an error,
 * an empty value counts as absent, unknown parameters are ignored.
 */
export type TokenParameters = Map<string, string>;

function addParameter(params: TokenParameters, seen: Set<string>, name: string, value: string): void {
  if (seen.has(name)) throw new InvalidRequest(`parameter ${quoteForDescription(name)} is repeated; send each parameter once`);
  seen.add(name);
  if (value !== '') params.set(name, value);
}

/** Reads the parameters of a form (RFC 6749 §3.2) or JSON body; throws InvalidRequest on anything malformed. */
export function readTokenParameters(body: TokenRequestBody): TokenParameters {
  const params: TokenParameters = new Map();
  const seen = new Set<string>();

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
    if (typeof field !== 'string') {
      throw new InvalidRequest(`parameter ${quoteForDescription(name)} must be a string, got ${Array.isArray(field) ? 'an array' : typeof field}`);
    }
    addParameter(params, seen, name, field);
  }
  return params;
}

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
