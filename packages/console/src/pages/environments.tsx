import { useState } from 'react';
import { createEnvironment, listEnvironments } from '../api.ts';
import { useDraft } from '../drafts.ts';
import { useAction, useResource, useSession, useTitle } from '../hooks.ts';
import { navigate, pathTo } from '../router.ts';
import { Dialog, EmptyState, ErrorState, Field, FormError, Icon, Link, Loading, Time } from '../components/ui.tsx';

/** The seed's first screen: every environment you can see, each with a pencil icon that opens it. */
export function EnvironmentsPage() {
  useTitle('Environments');
  const session = useSession();
  const environments = useResource('environments', listEnvironments);
  const draft = useDraft('create-environment', { open: false, id: '', name: '' });
  const isPlatformAdmin = session.admin.platformAdmin;

  const createButton = isPlatformAdmin && (
    <button type="button" className="button primary" onClick={() => draft.update({ open: true })}>
      <Icon name="plus" /> Create environment
    </button>
  );

  return (
    <section className="page" aria-labelledby="environments-title">
      <div className="page-header">
        <div>
          <h1 id="environments-title">Environments</h1>
          <p className="muted">Each environment has its own integrations, permissions and audit log. Open one with the pencil icon.</p>
        </div>
        {createButton}
      </div>
      {environments.status === 'loading' && <Loading label="Loading environments…" />}
      {environments.status === 'error' && <ErrorState what="environments" error={environments.error} onRetry={environments.reload} />}
      {environments.status === 'ready' && environments.data.length === 0 && (
        <EmptyState title="No environments yet" action={createButton}>
          {isPlatformAdmin ? (
            <p>Create the first environment, then add integrations to it.</p>
          ) : (
            <p>You have no role in any environment. Ask a platform admin to add you to one.</p>
          )}
        </EmptyState>
      )}
      {environments.status === 'ready' && environments.data.length > 0 && (
        <div className="card table-card">
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">Your role</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Edit</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {environments.data.map((environment) => (
                <tr key={environment.id}>
                  <td data-label="Name">
                    <Link to={pathTo('environments', environment.id)} className="strong-link">
                      {environment.name}
                    </Link>
                  </td>
                  <td data-label="ID">
                    <code>{environment.id}</code>
                  </td>
                  <td data-label="Your role">{isPlatformAdmin ? 'Platform admin' : session.admin.environments[environment.id] === 'admin' ? 'Admin' : 'Viewer'}</td>
                  <td data-label="Created">
                    <Time iso={environment.createdAt} />
                  </td>
                  <td className="row-actions">
                    <Link to={pathTo('environments', environment.id)} className="button ghost icon-only" ariaLabel={`Edit environment ${environment.name}`}>
                      <Icon name="pencil" />
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {isPlatformAdmin && <CreateEnvironmentDialog draft={draft} onCreated={environments.reload} />}
    </section>
  );
}

function CreateEnvironmentDialog({ draft, onCreated }: { draft: ReturnType<typeof useDraft<{ open: boolean; id: string; name: string }>>; onCreated: () => void }) {
  const action = useAction(createEnvironment);
  const [touched, setTouched] = useState(false);
  const close = () => {
    draft.clear();
    action.reset();
    setTouched(false);
  };
  const idProblem = touched && draft.value.id && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(draft.value.id) ? 'Use lower-case letters, digits and inner hyphens (1–63 characters).' : undefined;
  return (
    <Dialog open={draft.value.open} title="Create environment" onClose={close}>
      <form
        className="dialog-body form"
        onSubmit={async (event) => {
          event.preventDefault();
          const created = await action.run({ id: draft.value.id.trim(), ...(draft.value.name.trim() ? { name: draft.value.name.trim() } : {}) });
          if (created) {
            close();
            onCreated();
            navigate(pathTo('environments', created.id));
          }
        }}
      >
        <Field label="Environment ID" hint="Appears in URLs and tokens, and cannot be changed: lower-case letters, digits and hyphens." error={idProblem ?? action.error?.forField('id')}>
          {(props) => (
            <input {...props} data-autofocus name="id" required maxLength={63} autoComplete="off" spellCheck={false} value={draft.value.id} onBlur={() => setTouched(true)} onChange={(e) => draft.update({ id: e.target.value })} />
          )}
        </Field>
        <Field label="Name" hint="Optional; defaults to the ID." error={action.error?.forField('name')}>
          {(props) => <input {...props} name="name" maxLength={100} value={draft.value.name} onChange={(e) => draft.update({ name: e.target.value })} />}
        </Field>
        <FormError error={action.error && !action.error.fieldErrors.length ? action.error : null} />
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={action.pending}>
            {action.pending ? 'Creating…' : 'Create environment'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
