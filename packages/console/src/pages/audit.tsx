import { useEffect, useState } from 'react';
import { getAudit, type AuditFilters } from '../api.ts';
import { toApiError, useResource, useTitle } from '../hooks.ts';
import { formatDateTime } from '../format.ts';
import { navigate, pathTo, useLocation } from '../router.ts';
import type { AuditEntry, Environment } from '../wire.ts';
import { EmptyState, ErrorState, Field, Loading, Time } from '../components/ui.tsx';

const ACTIONS: { value: string; label: string }[] = [
  { value: '', label: 'All actions' },
  { value: 'integration.*', label: 'Any integration change' },
  { value: 'integration.create', label: 'Integration created' },
  { value: 'integration.update', label: 'Integration edited' },
  { value: 'integration.permissions.set', label: 'Permissions changed' },
  { value: 'integration.secret.rotate', label: 'Secret rotated' },
  { value: 'integration.secret.revoke', label: 'Secret revoked' },
  { value: 'integration.tokens.revoke', label: 'All tokens revoked' },
  { value: 'integration.disable', label: 'Integration disabled' },
  { value: 'integration.enable', label: 'Integration enabled' },
  { value: 'integration.delete', label: 'Integration deleted' },
  { value: 'token.issue', label: 'Token issued' },
  { value: 'token.revoke', label: 'Token revoked by its client' },
  { value: 'environment.*', label: 'Environment changes' },
];

const LABELS = new Map(ACTIONS.filter((a) => !a.value.endsWith('*')).map((a) => [a.value, a.label]));

// datetime-local inputs hold local wall-clock time; the API takes ISO 8601 instants.
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** The audit log of one environment, newest first, filtered by actor, action and time. */
export function AuditPage({ environment }: { environment: Environment }) {
  useTitle(`Audit log · ${environment.name}`);
  const { search } = useLocation();
  const applied = { actor: search.get('actor') ?? '', action: search.get('action') ?? '', from: search.get('from') ?? '', to: search.get('to') ?? '' };
  const [form, setForm] = useState(applied);
  // Back and forward move through applied filters: the form follows the URL.
  const searchKey = search.toString();
  useEffect(() => {
    const params = new URLSearchParams(searchKey);
    setForm({ actor: params.get('actor') ?? '', action: params.get('action') ?? '', from: params.get('from') ?? '', to: params.get('to') ?? '' });
  }, [searchKey]);
  const filters: AuditFilters = { actor: applied.actor || undefined, action: applied.action || undefined, from: toIso(applied.from), to: toIso(applied.to) };
  const key = `audit:${environment.id}:${JSON.stringify(filters)}`;
  const first = useResource(key, () => getAudit(environment.id, filters));
  const [more, setMore] = useState<{ key: string; entries: AuditEntry[]; cursor: number | null }>({ key: '', entries: [], cursor: null });
  const [moreState, setMoreState] = useState<{ loading: boolean; error: string | null }>({ loading: false, error: null });
  const extra = more.key === key ? more : { entries: [], cursor: null };
  const entries = first.status === 'ready' ? [...first.data.entries, ...extra.entries] : [];
  const nextCursor = first.status === 'ready' ? (extra.entries.length ? extra.cursor : first.data.nextCursor) : null;
  const base = `${pathTo('environments', environment.id)}/audit`;
  const filtered = Object.values(applied).some(Boolean);

  const apply = (values: typeof applied) => {
    const params = new URLSearchParams(Object.entries(values).filter(([, v]) => v));
    navigate(params.size ? `${base}?${params}` : base);
  };

  return (
    <section aria-labelledby="audit-title">
      <div className="section-header">
        <div>
          <h2 id="audit-title">Audit log</h2>
          <p className="muted">Who changed what in this environment, and every token issued. Secrets and tokens are never recorded.</p>
        </div>
        <button type="button" className="button ghost small" onClick={first.reload}>
          Refresh
        </button>
      </div>
      <form
        className="card filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          apply(form);
        }}
      >
        <Field label="Actor">
          {(props) => <input {...props} name="actor" placeholder="Admin email or Client ID" value={form.actor} autoComplete="off" spellCheck={false} onChange={(e) => setForm({ ...form, actor: e.target.value })} />}
        </Field>
        <Field label="Action">
          {(props) => (
            <select {...props} name="action" value={form.action} onChange={(e) => setForm({ ...form, action: e.target.value })}>
              {ACTIONS.map((a) => (
                <option key={a.value} value={a.value}>
                  {a.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From">
          {(props) => <input {...props} type="datetime-local" name="from" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />}
        </Field>
        <Field label="To">
          {(props) => <input {...props} type="datetime-local" name="to" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} />}
        </Field>
        <div className="filter-actions">
          <button type="submit" className="button primary">
            Apply filters
          </button>
          {filtered && (
            <button
              type="button"
              className="button ghost"
              onClick={() => {
                const empty = { actor: '', action: '', from: '', to: '' };
                setForm(empty);
                apply(empty);
              }}
            >
              Clear
            </button>
          )}
        </div>
      </form>
      {first.status === 'loading' && <Loading label="Loading the audit log…" />}
      {first.status === 'error' && <ErrorState what="the audit log" error={first.error} onRetry={first.reload} />}
      {first.status === 'ready' && entries.length === 0 && (
        <EmptyState title={filtered ? 'No entries match these filters' : 'Nothing recorded yet'}>
          <p>{filtered ? 'Widen the time range or clear a filter.' : 'Changes to integrations and issued tokens appear here.'}</p>
        </EmptyState>
      )}
      {entries.length > 0 && (
        <div className="card table-card">
          <table className="table responsive audit-table" data-testid="audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} data-action={entry.action} data-actor={entry.actor.id} data-target={entry.target.id}>
                  <td data-label="When">
                    <Time iso={entry.at} />
                    <div className="muted small">{formatDateTime(entry.at)}</div>
                  </td>
                  <td data-label="Actor">
                    <span className="muted small">{entry.actor.type}</span> <span className="break">{entry.actor.id}</span>
                  </td>
                  <td data-label="Action">
                    <code>{entry.action}</code>
                    {entry.outcome !== 'success' && <span className="badge badge-warn">{entry.outcome}</span>}
                    {LABELS.has(entry.action) && <div className="muted small">{LABELS.get(entry.action)}</div>}
                  </td>
                  <td data-label="Target">
                    <span className="muted small">{entry.target.type}</span> <span className="break">{entry.target.id}</span>
                  </td>
                  <td data-label="Details">
                    <Details details={entry.details} ip={entry.ip} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor !== null && (
        <div className="load-more">
          {moreState.error && (
            <p className="form-error" role="alert">
              {moreState.error}
            </p>
          )}
          <button
            type="button"
            className="button secondary"
            disabled={moreState.loading}
            onClick={async () => {
              setMoreState({ loading: true, error: null });
              try {
                const page = await getAudit(environment.id, { ...filters, cursor: nextCursor });
                setMore({ key, entries: [...extra.entries, ...page.entries], cursor: page.nextCursor });
                setMoreState({ loading: false, error: null });
              } catch (error) {
                setMoreState({ loading: false, error: toApiError(error).message });
              }
            }}
          >
            {moreState.loading ? 'Loading…' : 'Load older entries'}
          </button>
        </div>
      )}
    </section>
  );
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.map(formatValue).join(', ') : 'none';
  if (value && typeof value === 'object') {
    if (Object.keys(value).length === 0) return 'none';
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${formatValue(v)}`)
      .join('; ');
  }
  return String(value);
}

function Details({ details, ip }: { details: Record<string, unknown>; ip: string | null }) {
  const entries = Object.entries(details);
  if (entries.length === 0 && !ip) return <span className="muted">—</span>;
  return (
    <dl className="details">
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>{formatValue(value) || '""'}</dd>
        </div>
      ))}
      {ip && (
        <div>
          <dt>from</dt>
          <dd>{ip}</dd>
        </div>
      )}
    </dl>
  );
}
