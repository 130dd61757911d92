import { useState } from 'react';
import { deleteEnvironment, renameEnvironment } from '../api.ts';
import { useDraft } from '../drafts.ts';
import { useAction, useSession, useTitle } from '../hooks.ts';
import { navigate } from '../router.ts';
import { REVOCATION_REACH } from '../revocation.ts';
import type { Environment } from '../wire.ts';
import { ConfirmDialog, Field, FormError, Icon, Time } from '../components/ui.tsx';

/** An environment's settings: its name (platform admins rename and delete), API docs. */
export function EnvironmentSettingsPage({ environment, onChanged }: { environment: Environment; onChanged: (environment: Environment) => void }) {
  useTitle(`Settings · ${environment.name}`);
  const session = useSession();
  const isPlatformAdmin = session.admin.platformAdmin;
  const draft = useDraft(`rename-environment:${environment.id}`, { name: environment.name });
  const rename = useAction(renameEnvironment);
  const remove = useAction(async (id: string) => {
    await deleteEnvironment(id);
    return true;
  });
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const docs = `/docs/environments/${encodeURIComponent(environment.id)}`;

  return (
    <div className="stack">
      <section className="card" aria-labelledby="env-general">
        <h2 id="env-general">General</h2>
        <dl className="facts">
          <div>
            <dt>Environment ID</dt>
            <dd>
              <code>{environment.id}</code>
            </dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>
              <Time iso={environment.createdAt} />
            </dd>
          </div>
          <div>
            <dt>Last changed</dt>
            <dd>
              <Time iso={environment.updatedAt} />
            </dd>
          </div>
        </dl>
        {isPlatformAdmin ? (
          <form
            className="form inline-form"
            onSubmit={async (event) => {
              event.preventDefault();
              const updated = await rename.run(environment.id, draft.value.name.trim());
              if (updated) {
                draft.clear({ name: updated.name });
                onChanged(updated);
                session.notify(`Renamed to ${updated.name}`);
              }
            }}
          >
            <Field label="Name" error={rename.error?.forField('name')}>
              {(props) => <input {...props} name="name" required maxLength={100} value={draft.value.name} onChange={(e) => draft.update({ name: e.target.value })} />}
            </Field>
            <button type="submit" className="button primary" disabled={rename.pending || draft.value.name.trim() === environment.name || !draft.value.name.trim()}>
              {rename.pending ? 'Saving…' : 'Rename'}
            </button>
            <FormError error={rename.error && !rename.error.fieldErrors.length ? rename.error : null} />
          </form>
        ) : (
          <p className="muted">Only platform admins rename or delete environments.</p>
        )}
      </section>

      <section className="card" aria-labelledby="env-docs">
        <h2 id="env-docs">API documentation for this environment</h2>
        <p>Interactive OpenAPI documentation with this environment's paths filled in.</p>
        <ul className="link-list">
          <li>
            <a href={`${docs}#/Environment%20API%3A%20Templates`} target="_blank" rel="noreferrer">
              Environment API <Icon name="external" />
            </a>{' '}
            <span className="muted">templates, projects, media and fonts</span>
          </li>
          <li>
            <a href={`${docs}#/Integrations`} target="_blank" rel="noreferrer">
              Platform API <Icon name="external" />
            </a>{' '}
            <span className="muted">integrations, secrets, permissions and the audit log</span>
          </li>
        </ul>
      </section>

      {isPlatformAdmin && (
        <section className="card danger-zone" aria-labelledby="env-danger">
          <h2 id="env-danger">Delete this environment</h2>
          <p>Deletes the environment with all its integrations: none of them can get a token any more, and every token issued in it is revoked.</p>
          <button type="button" className="button danger" onClick={() => setConfirming(true)}>
            Delete environment…
          </button>
        </section>
      )}

      <ConfirmDialog
        open={confirming}
        title={`Delete environment ${environment.name}?`}
        danger
        confirmLabel="Delete environment"
        pending={remove.pending}
        confirmDisabled={typed !== environment.id}
        error={remove.error}
        onClose={() => {
          setConfirming(false);
          setTyped('');
          remove.reset();
        }}
        consequence={
          <>
            <p>
              Every integration in <strong>{environment.id}</strong> is deleted and can no longer get tokens. <strong>Every token issued in it is revoked:</strong> {REVOCATION_REACH}. They stay refused if an environment with the ID {environment.id} is created again. This cannot be undone.
            </p>
          </>
        }
        onConfirm={async () => {
          if (typed !== environment.id) return;
          if (await remove.run(environment.id)) {
            session.notify(`Environment ${environment.id} deleted`);
            navigate('/environments');
          }
        }}
      >
        <Field label={`Type ${environment.id} to confirm`}>
          {(props) => <input {...props} autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />}
        </Field>
      </ConfirmDialog>
    </div>
  );
}
