import { useEffect, useState } from 'react';
import { createIntegration, getApiCatalogue, listIntegrations } from '../api.ts';
import { useDraft } from '../drafts.ts';
import { toApiError, useAction, useDebounced, useResource, useSession, useTitle } from '../hooks.ts';
import { navigate, pathTo, useLocation } from '../router.ts';
import { handOffSecret } from '../secret-handoff.ts';
import { describeGrants } from '../permissions.ts';
import type { ApiCatalogue, Environment, Integration } from '../wire.ts';
import { Dialog, EmptyState, ErrorState, Field, FormError, Icon, Link, Loading, StatusBadge, Time } from '../components/ui.tsx';

/** Integrations of one environment: search, status, last use, and "Create Integration". */
export function IntegrationsPage({ environment }: { environment: Environment }) {
  useTitle(`Integrations · ${environment.name}`);
  const session = useSession();
  const canWrite = session.canWrite(environment.id);
  const { search } = useLocation();
  const [term, setTerm] = useState(search.get('q') ?? '');
  const query = useDebounced(term.trim(), 250);
  const base = pathTo('environments', environment.id);

  // The search lives in the URL too, so a reload or a shared link shows the same list.
  useEffect(() => {
    navigate(query ? `${base}?q=${encodeURIComponent(query)}` : base, { replace: true });
  }, [query, base]);

  const first = useResource(`integrations:${environment.id}:${query}`, () => listIntegrations(environment.id, { name: query || undefined }));
  const [catalogue, setCatalogue] = useState<ApiCatalogue | null>(null);
  useEffect(() => {
    getApiCatalogue().then(setCatalogue, () => setCatalogue(null));
  }, []);
  // Pages after the first, appended by "Load more"; a new search starts over.
  const [more, setMore] = useState<{ items: Integration[]; cursor: string | null }>({ items: [], cursor: null });
  const [moreError, setMoreError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const items = first.status === 'ready' ? [...first.data.integrations, ...more.items] : [];
  const nextCursor = first.status === 'ready' ? (more.items.length ? more.cursor : first.data.nextCursor) : null;
  useEffect(() => setMore({ items: [], cursor: null }), [query, environment.id]);

  const draft = useDraft(`create-integration:${environment.id}`, { open: false, name: '', description: '', preset: 'none' as 'none' | 'read-only' | 'all' });
  const createButton = canWrite && (
    <button type="button" className="button primary" onClick={() => draft.update({ open: true })}>
      <Icon name="plus" /> Create Integration
    </button>
  );

  return (
    <section aria-labelledby="integrations-title">
      <div className="section-header">
        <div>
          <h2 id="integrations-title">Integrations</h2>
          <p className="muted">An integration is a machine user of this environment, with its own Client ID, Client Secret and permissions.</p>
        </div>
        {createButton}
      </div>
      <div className="toolbar">
        <label className="search">
          <Icon name="search" />
          <span className="sr-only">Search integrations by name</span>
          <input type="search" placeholder="Search by name" value={term} onChange={(e) => setTerm(e.target.value)} />
        </label>
      </div>
      {first.status === 'loading' && <Loading label="Loading integrations…" />}
      {first.status === 'error' && <ErrorState what="integrations" error={first.error} onRetry={first.reload} />}
      {first.status === 'ready' && items.length === 0 && (
        query ? (
          <EmptyState title={`No integration matches “${query}”`}>
            <button type="button" className="button secondary" onClick={() => setTerm('')}>
              Clear the search
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No integrations yet" action={createButton}>
            <p>Create one for each application that calls the Environment API: a read-only one for the editor in the browser, one with all permissions for your back end.</p>
            {!canWrite && <p>You can view this environment; an admin of it can create integrations.</p>}
          </EmptyState>
        )
      )}
      {items.length > 0 && (
        <div className="card table-card">
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client ID</th>
                <th scope="col">Status</th>
                <th scope="col">Permissions</th>
                <th scope="col">Last used</th>
              </tr>
            </thead>
            <tbody>
              {items.map((integration) => (
                <tr key={integration.id}>
                  <td data-label="Name">
                    <Link to={pathTo('environments', environment.id, 'integrations', integration.clientId)} className="strong-link">
                      {integration.name}
                    </Link>
                    {integration.description && <div className="muted clamp">{integration.description}</div>}
                  </td>
                  <td data-label="Client ID">
                    <code className="truncate">{integration.clientId}</code>
                  </td>
                  <td data-label="Status">
                    <StatusBadge disabled={integration.disabled} />
                  </td>
                  <td data-label="Permissions">{catalogue ? describeGrants(integration.grants, catalogue) : '…'}</td>
                  <td data-label="Last used">
                    <Time iso={integration.lastUsedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor && (
        <div className="load-more">
          {moreError && (
            <p className="form-error" role="alert">
              {moreError}
            </p>
          )}
          <button
            type="button"
            className="button secondary"
            disabled={loadingMore}
            onClick={async () => {
              setLoadingMore(true);
              setMoreError(null);
              try {
                const page = await listIntegrations(environment.id, { name: query || undefined, cursor: nextCursor });
                setMore((m) => ({ items: [...m.items, ...page.integrations], cursor: page.nextCursor }));
              } catch (error) {
                setMoreError(toApiError(error).message);
              } finally {
                setLoadingMore(false);
              }
            }}
          >
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
      {canWrite && <CreateIntegrationDialog environment={environment} draft={draft} />}
    </section>
  );
}

type CreateDraft = { open: boolean; name: string; description: string; preset: 'none' | 'read-only' | 'all' };

/** The seed's "Create Integration": a meaningful name and a description; permissions can wait. */
function CreateIntegrationDialog({ environment, draft }: { environment: Environment; draft: ReturnType<typeof useDraft<CreateDraft>> }) {
  const action = useAction(createIntegration);
  const close = () => {
    draft.clear();
    action.reset();
  };
  const { name, description, preset } = draft.value;
  return (
    <Dialog open={draft.value.open} title="Create Integration" onClose={close}>
      <form
        className="dialog-body form"
        onSubmit={async (event) => {
          event.preventDefault();
          const created = await action.run(environment.id, { name: name.trim(), description: description.trim(), ...(preset === 'none' ? {} : { preset }) });
          if (!created) return;
          handOffSecret({ clientId: created.integration.clientId, secret: created.clientSecret, reason: 'created' });
          close();
          navigate(pathTo('environments', environment.id, 'integrations', created.integration.clientId));
        }}
      >
        <p className="muted">Give it a meaningful name and description so you can tell it apart later, e.g. the application that will use it.</p>
        <Field label="Name" error={action.error?.forField('name')}>
          {(props) => <input {...props} data-autofocus name="name" required maxLength={100} autoComplete="off" value={name} onChange={(e) => draft.update({ name: e.target.value })} />}
        </Field>
        <Field label="Description" hint={`${description.length}/500`} error={action.error?.forField('description')}>
          {(props) => <textarea {...props} name="description" maxLength={500} rows={3} value={description} onChange={(e) => draft.update({ description: e.target.value })} />}
        </Field>
        <Field label="Start with permissions" hint="You can change them any time in the Permissions tab.">
          {(props) => (
            <select {...props} name="preset" value={preset} onChange={(e) => draft.update({ preset: e.target.value as CreateDraft['preset'] })}>
              <option value="none">None — choose them next</option>
              <option value="read-only">Read-only (safe for the editor in a browser)</option>
              <option value="all">All permissions (back end only)</option>
            </select>
          )}
        </Field>
        <FormError error={action.error && !action.error.fieldErrors.length ? action.error : null} />
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={action.pending}>
            {action.pending ? 'Creating…' : 'Create Integration'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
