import { useEffect, useState } from 'react';
import { changePassword } from '../api.ts';
import { useAction } from '../hooks.ts';
import type { SessionInfo } from '../wire.ts';
import { Field } from '../components/ui.tsx';

/**
 * Signed in with a temporary password (the one printed on first run): the admin chooses their own
 * before anything else — the Platform API refuses every other call of this session until then.
 */
export function ChangePasswordForm({ email, onChanged, onSignOut }: { email: string; onChanged: (info: SessionInfo) => void; onSignOut: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const action = useAction(changePassword);
  useEffect(() => {
    document.title = 'Choose your password · Latchkey';
  }, []);
  const error = action.error;
  const fieldError = (field: string) => error?.forField(field);
  const general = error && !fieldError('currentPassword') && !fieldError('newPassword') ? error.message : null;
  return (
    <form
      className="form"
      onSubmit={async (event) => {
        event.preventDefault();
        if (next !== repeat) {
          setMismatch(true);
          return;
        }
        setMismatch(false);
        const info = await action.run(current, next);
        if (info) onChanged(info);
      }}
    >
      <p className="muted">
        You signed in as <strong>{email}</strong> with a temporary password. Choose your own password to continue; the temporary one stops working.
      </p>
      <input type="email" name="username" autoComplete="username" value={email} readOnly hidden />
      <Field label="Temporary password" error={fieldError('currentPassword')}>
        {(props) => <input {...props} autoFocus type="password" name="current-password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />}
      </Field>
      <Field label="New password" hint="At least 12 characters." error={fieldError('newPassword')}>
        {(props) => <input {...props} type="password" name="new-password" autoComplete="new-password" required minLength={12} value={next} onChange={(e) => setNext(e.target.value)} />}
      </Field>
      <Field label="Repeat new password" error={mismatch ? 'The two new passwords differ.' : undefined}>
        {(props) => <input {...props} type="password" name="repeat-password" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} />}
      </Field>
      {general && (
        <p className="form-error" role="alert">
          {general}
        </p>
      )}
      <button type="submit" className="button primary wide" disabled={action.pending}>
        {action.pending ? 'Saving…' : 'Set password and continue'}
      </button>
      <button type="button" className="button wide" onClick={onSignOut}>
        Sign out
      </button>
    </form>
  );
}
