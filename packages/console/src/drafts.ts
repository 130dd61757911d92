import { useCallback, useRef, useState } from 'react';

// What someone types into a form is kept in sessionStorage (this tab only, gone when it closes), so
// a session that expires, or a reload, does not lose it. Never used for secrets or passwords.

const PREFIX = 'latchkey.draft.';

function read<T>(key: string, initial: T): T {
  try {
    const raw = window.sessionStorage.getItem(PREFIX + key);
    return raw === null ? initial : { ...initial, ...(JSON.parse(raw) as T) };
  } catch {
    return initial;
  }
}

/**
 * Form state that survives sign-in and reloads. `value` starts from the saved draft (merged over
 * `initial`); `update` saves it; `clear` drops the draft once the form is submitted or abandoned.
 */
export function useDraft<T extends object>(key: string, initial: T): { value: T; update: (patch: Partial<T>) => void; clear: (to?: T) => void; saved: boolean } {
  const initialRef = useRef(initial);
  initialRef.current = initial;
  const [state, setState] = useState(() => ({ key, value: read(key, initial), saved: hasDraft(key) }));
  // A different key (another integration, another environment) starts from its own draft.
  const current = state.key === key ? state : { key, value: read(key, initial), saved: hasDraft(key) };
  if (current !== state) setState(current);
  const update = useCallback(
    (patch: Partial<T>) =>
      setState((previous) => {
        const value = { ...previous.value, ...patch };
        try {
          window.sessionStorage.setItem(PREFIX + key, JSON.stringify(value));
        } catch {
          // Storage full or disabled: the form still works, only without a draft.
        }
        return { key, value, saved: true };
      }),
    [key],
  );
  const clear = useCallback(
    (to?: T) => {
      try {
        window.sessionStorage.removeItem(PREFIX + key);
      } catch {
        // Nothing to clear.
      }
      setState({ key, value: to ?? initialRef.current, saved: false });
    },
    [key],
  );
  return { value: current.value, update, clear, saved: current.saved };
}

function hasDraft(key: string): boolean {
  try {
    return window.sessionStorage.getItem(PREFIX + key) !== null;
  } catch {
    return false;
  }
}

/** Drops every draft (sign-out: the next person at this browser should not see them). */
export function clearAllDrafts(): void {
  try {
    for (const key of Object.keys(window.sessionStorage)) if (key.startsWith(PREFIX)) window.sessionStorage.removeItem(key);
  } catch {
    // Storage disabled: there are no drafts.
  }
}
