import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { ApiError } from '../api.ts';
import { formatDateTime, formatRelative } from '../format.ts';
import { navigate } from '../router.ts';

// The console's few building blocks. Plain elements with labels and native behaviour: <dialog> for
// modals (focus trap, Escape), <button> for actions, <a> for navigation.

const ICONS = {
  pencil: 'M4 20h4L18.5 9.5a2.1 2.1 0 0 0-4-4L4 16v4ZM13.5 6.5l4 4',
  copy: 'M9 9h10v10H9zM5 15V5h10',
  check: 'M5 12.5l4.5 4.5L19 7.5',
  warning: 'M12 4 2.5 20h19L12 4Zm0 6v4.5m0 3v.5',
  external: 'M14 5h5v5M19 5l-8 8M17 14v5H5V7h5',
  search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13ZM15.5 15.5 20 20',
  plus: 'M12 5v14M5 12h14',
  key: 'M8.5 15.5a4 4 0 1 1 3-6.8L20 8.7v3h-2.5v2.5H15l-2.6-1.2a4 4 0 0 1-3.9 2.5Z',
  back: 'M15 5l-7 7 7 7',
} as const;

/** A 20 px line icon; decorative unless given a label. */
export function Icon({ name, label }: { name: keyof typeof ICONS; label?: string }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden={label ? undefined : true} role={label ? 'img' : undefined} aria-label={label} focusable="false">
      <path d={ICONS[name]} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/** A link inside the console: navigates without reloading, opens a new tab with modifier keys as usual. */
export function Link({ to, children, className, ariaLabel, current }: { to: string; children: ReactNode; className?: string; ariaLabel?: string; current?: boolean }) {
  return (
    <a
      href={to}
      className={className}
      aria-label={ariaLabel}
      aria-current={current ? 'page' : undefined}
      onClick={(event) => {
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** A modal dialog on the native <dialog>: focus moves in and is trapped, Escape cancels. */
export function Dialog({ open, title, onClose, children, className, describedBy, dismissible = true }: { open: boolean; title: string; onClose: () => void; children: ReactNode; className?: string; describedBy?: string; dismissible?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      // showModal focuses the first focusable element (the close button); start at the field or
      // button marked data-autofocus instead. React's autoFocus does not survive showModal.
      dialog.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className={`dialog ${className ?? ''}`}
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <header className="dialog-header">
            <h2 id={titleId}>{title}</h2>
            {dismissible && (
              <button type="button" className="button ghost icon-only" onClick={onClose} aria-label="Close">
                <span aria-hidden="true">×</span>
              </button>
            )}
          </header>
          {children}
        </>
      )}
    </dialog>
  );
}

/**
 * A confirmation that names what happens: the consequence text is the dialog's description, the
 * confirm button says the action ("Delete integration"), and Cancel has the focus first.
 */
export function ConfirmDialog({
  open,
  title,
  consequence,
  confirmLabel,
  danger,
  onConfirm,
  onClose,
  pending,
  confirmDisabled,
  error,
  children,
}: {
  open: boolean;
  title: string;
  consequence: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  pending?: boolean;
  confirmDisabled?: boolean;
  error?: ApiError | null;
  children?: ReactNode;
}) {
  const descriptionId = useId();
  return (
    <Dialog open={open} title={title} onClose={onClose} describedBy={descriptionId}>
      <form
        method="dialog"
        className="dialog-body"
        onSubmit={(event) => {
          event.preventDefault();
          onConfirm();
        }}
      >
        <div id={descriptionId} className="consequence">
          {consequence}
        </div>
        {children}
        <FormError error={error ?? null} />
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onClose} data-autofocus>
            Cancel
          </button>
          <button type="submit" className={`button ${danger ? 'danger' : 'primary'}`} disabled={pending || confirmDisabled}>
            {pending ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Puts `text` on the clipboard; falls back to a selected hidden field where the Clipboard API is missing (plain HTTP off localhost). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission refused: try the fallback.
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.className = 'offscreen';
  document.body.append(field);
  field.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  field.remove();
  return copied;
}

/** A copy button that says "Copied" for a moment, and announces it to screen readers. */
export function CopyButton({ text, label, onCopied, className }: { text: string; label: string; onCopied?: (message: string) => void; className?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <button
      type="button"
      className={`button secondary copy ${className ?? ''}`}
      // The accessible name starts with the visible word ("Copied", "Copy failed"), so speech input
      // and screen readers name the button as it looks (WCAG 2.5.3, label in name).
      aria-label={state === 'copied' ? `Copied: ${label}` : state === 'failed' ? `Copy failed: ${label}` : label}
      onClick={async () => {
        const copied = await copyText(text);
        setState(copied ? 'copied' : 'failed');
        onCopied?.(copied ? 'Copied to the clipboard' : 'Could not copy: select the text and copy it by hand');
      }}
    >
      <Icon name={state === 'copied' ? 'check' : 'copy'} />
      <span>{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}</span>
    </button>
  );
}

/** A loading placeholder with a text for screen readers. */
export function Loading({ label }: { label: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** A failed load: what went wrong and a way to try again. */
export function ErrorState({ error, onRetry, what }: { error: ApiError; onRetry?: () => void; what: string }) {
  return (
    <div className="state error-state" role="alert">
      <h3>Could not load {what}</h3>
      <p>{error.sessionExpired ? 'Your session has ended. Sign in again to continue.' : error.message}</p>
      {error.status === 404 && (
        <p>
          <Link to="/environments">Back to environments</Link>
        </p>
      )}
      {onRetry && !error.sessionExpired && error.status !== 404 && (
        <button type="button" className="button secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Nothing here yet: what this place is for and the first step. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state empty-state">
      <h3>{title}</h3>
      {children}
      {action}
    </div>
  );
}

/** A form-level error (field errors are shown at their fields). */
export function FormError({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p className="form-error" role="alert">
      {error.sessionExpired ? 'Your session has ended. Sign in again, then submit once more — what you typed is kept.' : error.message}
    </p>
  );
}

/** A labelled input with hint and error, wired with aria-describedby. */
export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${error ? 'has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A form's save button (disabled until there is something to save) and, while there is, "Discard changes". */
export function SaveActions({ label, pending, dirty, disabled, onDiscard, children }: { label: string; pending: boolean; dirty: boolean; disabled?: boolean; onDiscard: () => void; children?: ReactNode }) {
  return (
    <div className="form-actions">
      <button type="submit" className="button primary" disabled={!dirty || pending || disabled}>
        {pending ? 'Saving…' : label}
      </button>
      {dirty && (
        <button type="button" className="button ghost" onClick={onDiscard}>
          Discard changes
        </button>
      )}
      {children}
    </div>
  );
}

/** Active / Disabled. */
export function StatusBadge({ disabled }: { disabled: boolean }) {
  return <span className={`badge ${disabled ? 'badge-muted' : 'badge-ok'}`}>{disabled ? 'Disabled' : 'Active'}</span>;
}

/** A highlighted box: `warning` for "store this now", `danger` for the seed's danger notes. */
export function Notice({ tone, title, children }: { tone: 'info' | 'warning' | 'danger' | 'success'; title?: string; children: ReactNode }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'danger' || tone === 'warning' ? 'note' : undefined}>
      {(tone === 'warning' || tone === 'danger') && <Icon name="warning" />}
      <div>
        {title && <strong className="notice-title">{title}</strong>}
        {children}
      </div>
    </div>
  );
}

/** A time as "5 minutes ago", with the full date on hover and for assistive technology. */
export function Time({ iso, empty = 'Never' }: { iso: string | null; empty?: string }) {
  if (!iso) return <span className="muted">{empty}</span>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
