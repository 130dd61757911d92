import type {
  ApiCatalogue,
  AuditPage,
  BrowserTokenSettings,
  BrowserTokenSettingsUpdate,
  Environment,
  Integration,
  IntegrationPage,
  IntegrationWithSecret,
  PermissionsResult,
  PermissionsUpdate,
  ProblemBody,
  ProblemCode,
  Secret,
  ServerMetadata,
  SessionInfo,
  Usage,
} from './wire.ts';

/** A failed Platform API call, carrying the problem document's `code` and the fields at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The problem's stable code; `network_error` when Latchkey was not reached, `http_<status>` when the answer was no problem document, `client_error` for a failure in the console itself. */
    readonly code: ProblemCode | 'network_error' | 'client_error' | `http_${number}`,
    message: string,
    readonly fieldErrors: { field: string; message: string }[] = [],
  ) {
    super(message);
  }

  /** The message for one form field, if the server named it. */
  forField(field: string): string | undefined {
    return this.fieldErrors.find((e) => e.field === field || e.field.endsWith(`.${field}`))?.message;
  }

  /** True when the session is gone and the user has to sign in again. */
  get sessionExpired(): boolean {
    return this.status === 401;
  }
}

// The session's CSRF token lives in memory only: it is re-read from GET /api/v1/session on load.
let csrfToken: string | null = null;
const expiryListeners = new Set<() => void>();

/** Calls `listener` when a request finds the session gone (401), so the app can ask to sign in again. */
export function onSessionExpired(listener: () => void): () => void {
  expiryListeners.add(listener);
  return () => expiryListeners.delete(listener);
}

const SESSION_PATH = '/api/v1/session';

async function send<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network_error', 'Latchkey could not be reached. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // A proxy's HTML error page, for instance: reported below with the status alone.
  }
  if (response.ok) return json as T;
  const problem = (json ?? {}) as Partial<ProblemBody>;
  const error = new ApiError(response.status, (problem.code as ProblemCode | undefined) ?? `http_${response.status}`, problem.detail ?? `The server answered ${response.status} ${response.statusText}.`, problem.errors ?? []);
  // Another tab signed in again: this tab's CSRF token is stale. Fetch the current one and retry once.
  if (error.code === 'csrf_token_invalid' && !retried) {
    await getSession();
    return send<T>(method, path, body, true);
  }
  if (error.sessionExpired && path !== SESSION_PATH) {
    csrfToken = null;
    for (const listener of expiryListeners) listener();
  }
  throw error;
}

const enc = encodeURIComponent;
const envPath = (environmentId: string) => `/api/v1/environments/${enc(environmentId)}`;
const integrationPath = (environmentId: string, clientId: string) => `${envPath(environmentId)}/integrations/${enc(clientId)}`;

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The signed-in session, or an ApiError with status 401. Remembers the CSRF token. */
export async function getSession(): Promise<SessionInfo> {
  const session = await send<SessionInfo>('GET', SESSION_PATH);
  csrfToken = session.csrfToken;
  return session;
}

/** Signs in; the server sets the HttpOnly session cookie. */
export async function signIn(email: string, password: string): Promise<SessionInfo> {
  const session = await send<SessionInfo>('POST', SESSION_PATH, { email, password });
  csrfToken = session.csrfToken;
  return session;
}

/** Sets a new password for the signed-in admin, proving the current one (required after a temporary password). */
export async function changePassword(currentPassword: string, newPassword: string): Promise<SessionInfo> {
  const session = await send<SessionInfo>('PUT', `${SESSION_PATH}/password`, { currentPassword, newPassword });
  csrfToken = session.csrfToken;
  return session;
}

/** Signs out and forgets the CSRF token. */
export async function signOut(): Promise<void> {
  try {
    await send<void>('DELETE', SESSION_PATH);
  } finally {
    csrfToken = null;
  }
}

export const listEnvironments = () => send<{ environments: Environment[] }>('GET', '/api/v1/environments').then((r) => r.environments);
export const getEnvironment = (id: string) => send<Environment>('GET', envPath(id));
export const createEnvironment = (input: { id: string; name?: string }) => send<Environment>('POST', '/api/v1/environments', input);
export const renameEnvironment = (id: string, name: string) => send<Environment>('PATCH', envPath(id), { name });
export const deleteEnvironment = (id: string) => send<void>('DELETE', envPath(id));
/** Changes the environment's browser-token settings (lifetime, client_credentials from a browser); a field left out keeps its value. */
export const setBrowserTokenSettings = (id: string, input: BrowserTokenSettingsUpdate) => send<BrowserTokenSettings>('PATCH', `${envPath(id)}/browser-tokens`, input);

export const listIntegrations = (environmentId: string, options: { name?: string; cursor?: string; limit?: number } = {}) =>
  send<IntegrationPage>('GET', `${envPath(environmentId)}/integrations${query(options)}`);
export const getIntegration = (environmentId: string, clientId: string) => send<Integration>('GET', integrationPath(environmentId, clientId));
export const createIntegration = (environmentId: string, input: { name: string; description: string; preset?: 'read-only' | 'all' }) =>
  send<IntegrationWithSecret>('POST', `${envPath(environmentId)}/integrations`, input);
export const updateIntegration = (environmentId: string, clientId: string, input: { name?: string; description?: string }) =>
  send<Integration>('PATCH', integrationPath(environmentId, clientId), input);
export const setIntegrationDisabled = (environmentId: string, clientId: string, disabled: boolean) =>
  send<Integration>('POST', `${integrationPath(environmentId, clientId)}/${disabled ? 'disable' : 'enable'}`);
export const deleteIntegration = (environmentId: string, clientId: string) => send<void>('DELETE', integrationPath(environmentId, clientId));

/** Revokes every token issued to the integration so far; answers the integration with its new `tokensRevokedAt`. */
export const revokeIntegrationTokens = (environmentId: string, clientId: string) => send<Integration>('POST', `${integrationPath(environmentId, clientId)}/revoke-tokens`);

/** Rotates the secret; `revokeTokens` also revokes every token issued so far (a suspected leak). */
export const rotateSecret = (environmentId: string, clientId: string, options: { graceSeconds: number; revokeTokens: boolean }) =>
  send<IntegrationWithSecret>('POST', `${integrationPath(environmentId, clientId)}/secrets`, options);
export const revokeSecret = (environmentId: string, clientId: string, secretId: string) =>
  send<Integration>('DELETE', `${integrationPath(environmentId, clientId)}/secrets/${enc(secretId)}`);
export const listSecrets = (environmentId: string, clientId: string) => send<{ secrets: Secret[] }>('GET', `${integrationPath(environmentId, clientId)}/secrets`).then((r) => r.secrets);

/** Replaces the scopes (`grants`) and/or turns browser tokens on or off; a field left out keeps its value. */
export const setPermissions = (environmentId: string, clientId: string, update: PermissionsUpdate) => send<PermissionsResult>('PUT', `${integrationPath(environmentId, clientId)}/permissions`, update);
export const getUsage = (environmentId: string, clientId: string, days = 30) => send<Usage>('GET', `${integrationPath(environmentId, clientId)}/usage${query({ days })}`);

/** Audit filters as the API takes them. */
export interface AuditFilters {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  cursor?: number;
}
export const getAudit = (environmentId: string, filters: AuditFilters) => send<AuditPage>('GET', `${envPath(environmentId)}/audit${query({ ...filters, limit: 50 })}`);

// The API catalogue and discovery metadata do not change while the server runs: fetch them once.
let catalogue: Promise<ApiCatalogue> | null = null;
export function getApiCatalogue(): Promise<ApiCatalogue> {
  catalogue ??= send<ApiCatalogue>('GET', '/api/v1/apis').catch((error: unknown) => {
    catalogue = null;
    throw error;
  });
  return catalogue;
}

let metadata: Promise<ServerMetadata> | null = null;
export function getServerMetadata(): Promise<ServerMetadata> {
  metadata ??= send<ServerMetadata>('GET', '/.well-known/oauth-authorization-server').catch((error: unknown) => {
    metadata = null;
    throw error;
  });
  return metadata;
}
