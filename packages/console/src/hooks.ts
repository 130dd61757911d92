import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.ts';
import type { Admin } from './wire.ts';

/** What every screen knows about the session. */
export interface SessionContextValue {
  admin: Admin;
  /** Bumped after signing in again: screens reload what failed while the session was gone. */
  epoch: number;
  /** Whether the admin may change things in `environmentId` (platform admins and environment admins). */
  canWrite(environmentId: string): boolean;
  /** Tells screen readers something the screen already shows (a "Copied" button label). */
  announce(message: string): void;
  /** A short visible confirmation (toast) for outcomes the screen does not otherwise show; also announced. */
  notify(message: string): void;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

/** The session; only used below the signed-in app shell. */
export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside the signed-in app');
  return value;
}

/** A value loaded from the API: loading, loaded or failed, with reload. */
export type Resource<T> =
  | { status: 'loading'; data?: undefined; error?: undefined }
  | { status: 'ready'; data: T; error?: undefined }
  | { status: 'error'; data?: undefined; error: ApiError };

/**
 * Loads `load()` when `key` changes (and after signing in again). Answers that arrive after the
 * key moved on are dropped, so a slow response never overwrites a newer one.
 */
export function useResource<T>(key: string, load: () => Promise<T>): Resource<T> & { reload: () => void; set: (data: T) => void } {
  const session = useContext(SessionContext);
  const [state, setState] = useState<{ key: string; resource: Resource<T> }>({ key, resource: { status: 'loading' } });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let current = true;
    // A reload keeps showing what is there; a different key (another page) starts from loading.
    setState((previous) => (previous.key === key && previous.resource.status === 'ready' ? previous : { key, resource: { status: 'loading' } }));
    loadRef.current().then(
      (data) => current && setState({ key, resource: { status: 'ready', data } }),
      (error: unknown) => current && setState({ key, resource: { status: 'error', error: toApiError(error) } }),
    );
    return () => {
      current = false;
    };
  }, [key, nonce, session?.epoch]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const set = useCallback((data: T) => setState({ key, resource: { status: 'ready', data } }), [key]);
  const resource: Resource<T> = state.key === key ? state.resource : { status: 'loading' };
  return { ...resource, reload, set };
}

/** Any thrown value as an ApiError, so screens show one kind of error. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'client_error', error instanceof Error ? error.message : String(error));
}

/** Runs an async action with a pending flag and a captured error: the shape of every form submit. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): { run: (...args: A) => Promise<R | undefined>; pending: boolean; error: ApiError | null; reset: () => void } {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A) => {
    setPending(true);
    setError(null);
    try {
      return await actionRef.current(...args);
    } catch (caught) {
      setError(toApiError(caught));
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  const reset = useCallback(() => setError(null), []);
  return { run, pending, error, reset };
}

/** `value`, settled for `ms` (search boxes). */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Sets the document title for a screen. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Latchkey`;
  }, [title]);
}
