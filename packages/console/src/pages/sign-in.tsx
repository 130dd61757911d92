import { useState } from 'react';
import { signIn } from '../api.ts';
import { useDraft } from '../drafts.ts';
import { useAction } from '../hooks.ts';
import type { SessionInfo } from '../wire.ts';
import { Field } from '../components/ui.tsx';

/** Email and password → a session. The email is kept as a draft; the password never is. */
export function SignInForm({ onSignedIn }: { onSignedIn: (info: SessionInfo) => void }) {
  const draft = useDraft('sign-in', { email: '' });
  const [password, setPassword] = useState('');
  const action = useAction(signIn);
  const error = action.error;
  const message =
    error === null
      ? null
      : error.code === 'invalid_credentials'
        ? 'That email and password do not match an admin account.'
        : error.code === 'too_many_attempts'
          ? `Too many failed sign-ins. ${error.message.replace(/^too many failed sign-ins [^;]*; /, '').replace(/^./, (c) => c.toUpperCase())}.`
          : error.message;
  return (
    <form
      className="form"
      onSubmit={async (event) => {
        event.preventDefault();
        const info = await action.run(draft.value.email.trim(), password);
        if (info) {
          setPassword('');
          onSignedIn(info);
        }
      }}
    >
      <Field label="Email" error={error?.forField('email')}>
        {(props) => <input {...props} data-autofocus autoFocus type="email" name="email" autoComplete="username" required value={draft.value.email} onChange={(e) => draft.update({ email: e.target.value })} />}
      </Field>
      <Field label="Password">
        {(props) => <input {...props} type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
      {message && (
        <p className="form-error" role="alert">
          {message}
        </p>
      )}
      <button type="submit" className="button primary wide" disabled={action.pending}>
        {action.pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
