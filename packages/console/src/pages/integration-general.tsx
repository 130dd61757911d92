import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { deleteIntegration, getApiCatalogue, getServerMetadata, getUsage, revokeIntegrationTokens, revokeSecret, rotateSecret, setIntegrationDisabled, updateIntegration } from '../api.ts';
import { useDraft } from '../drafts.ts';
import { useAction, useResource, useSession } from '../hooks.ts';
import { formatDateTimeToTheSecond, formatDuration } from '../format.ts';
import { REVOCATION_REACH } from '../revocation.ts';
import { navigate, pathTo } from '../router.ts';
import type { RevealedSecret } from '../secret-handoff.ts';
import { buildSnippet, SECRET_VARIABLE, SNIPPET_LANGUAGES, type SnippetLanguage } from '../snippets.ts';
import type { ApiCatalogue, ApiId, BrowserUse, Integration, Secret, ServerMetadata, Usage } from '../wire.ts';
import { ConfirmDialog, CopyButton, ErrorState, Field, FormError, Icon, Link, Loading, Notice, SaveActions, Time } from '../components/ui.tsx';

interface TabProps {
  environmentId: string;
  integration: Integration;
  onChange: (integration: Integration) => void;
  revealed: RevealedSecret | null;
  onReveal: (revealed: RevealedSecret | null) => void;
}

/** General: the secret once, a warning if the credentials were used from a browser, name and description, credentials and secrets, usage, how to get a token, and the danger zone. */
export function GeneralTab({ environmentId, integration, onChange, revealed, onReveal }: TabProps) {
  const session = useSession();
  const canWrite = session.canWrite(environmentId);
  return (
    <div className="stack">
      {revealed && revealed.clientId === integration.clientId && <SecretOnce revealed={revealed} onDone={() => onReveal(null)} />}
      {integration.browserUse && <BrowserUseWarning environmentId={environmentId} integration={integration} use={integration.browserUse} />}
      <DetailsCard environmentId={environmentId} integration={integration} onChange={onChange} canWrite={canWrite} />
      <CredentialsCard environmentId={environmentId} integration={integration} onChange={onChange} onReveal={onReveal} canWrite={canWrite} />
      <UsageCard environmentId={environmentId} integration={integration} />
      <TokenCard environmentId={environmentId} integration={integration} />
      {canWrite && <DangerZone environmentId={environmentId} integration={integration} onChange={onChange} />}
    </div>
  );
}

/** The Client Secret, this once, with the seed's warning: copy it now, store it safely. */
function SecretOnce({ revealed, onDone }: { revealed: RevealedSecret; onDone: () => void }) {
  const session = useSession();
  const [stored, setStored] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const inputId = useId();
  // Bring the secret into view and focus when it appears (after create or rotate).
  useEffect(() => {
    headingRef.current?.focus();
    headingRef.current?.scrollIntoView({ block: 'nearest' });
  }, [revealed.secret]);
  return (
    <section className="card secret-once" aria-labelledby="secret-once-title" data-testid="secret-once">
      <h3 id="secret-once-title" ref={headingRef} tabIndex={-1}>
        <Icon name="key" /> {revealed.reason === 'created' ? 'Your integration is ready: copy its Client Secret now' : 'Your new Client Secret: copy it now'}
      </h3>
      <p>
        <strong>This is the only time the secret is shown.</strong> Latchkey keeps only a hash of it and cannot show it again; if it is lost, rotate the secret to get a new one.
      </p>
      <div className="secret-row">
        <label htmlFor={inputId} className="sr-only">
          Client Secret
        </label>
        <input id={inputId} className="secret-value mono" readOnly value={revealed.secret} onFocus={(e) => e.currentTarget.select()} data-testid="client-secret" spellCheck={false} />
        <CopyButton text={revealed.secret} label="Copy the Client Secret" onCopied={session.announce} />
      </div>
      <Notice tone="warning" title="These credentials are the keys to your digital kingdom">
        <p>
          Anyone holding this Client ID and Client Secret can get tokens for this environment. Store them in a key store or as environment variables — never in source code, a ticket or a chat — and never send them to a browser.
        </p>
      </Notice>
      <div className="secret-done">
        <label className="checkbox">
          <input type="checkbox" checked={stored} onChange={(e) => setStored(e.target.checked)} />
          <span>I have stored the secret safely</span>
        </label>
        <button type="button" className="button primary" disabled={!stored} onClick={onDone}>
          Done — hide the secret
        </button>
      </div>
    </section>
  );
}

/**
 * The credentials were used from a browser: an `Origin` header came with this Client ID to the token
 * endpoint. Says where and when, and what to do. An alert: the secret may be readable in a page
 * right now, which the admin should act on before anything else on this screen.
 */
function BrowserUseWarning({ environmentId, integration, use }: { environmentId: string; integration: Integration; use: BrowserUse }) {
  const permissions = `${pathTo('environments', environmentId, 'integrations', integration.clientId)}/permissions`;
  return (
    <section className="card browser-use" aria-labelledby="browser-use-title" data-testid="browser-use-warning">
      <div className="browser-use-alert" role="alert">
        <Icon name="warning" />
        <div>
          <h3 id="browser-use-title">These credentials were used from a browser</h3>
          <p>
            A token request with this Client ID came from a web page: <strong>its Client Secret is in a page</strong>, where anyone who loads the page can read it and get tokens with every permission of this integration.
          </p>
        </div>
      </div>
      <dl className="facts browser-use-facts">
        <div>
          <dt>Origin</dt>
          <dd>
            <code data-testid="browser-use-origin">{use.origin}</code>
          </dd>
        </div>
        <div>
          <dt>From IP address</dt>
          <dd>
            <code>{use.ip}</code>
          </dd>
        </div>
        <div>
          <dt>First seen</dt>
          <dd>
            <time dateTime={use.firstSeenAt}>{formatDateTimeToTheSecond(use.firstSeenAt)}</time>
          </dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd>
            <time dateTime={use.lastSeenAt}>{formatDateTimeToTheSecond(use.lastSeenAt)}</time>
          </dd>
        </div>
        <div>
          <dt>Requests from a browser</dt>
          <dd data-testid="browser-use-count">{use.count}</dd>
        </div>
      </dl>
      <h4>What to do</h4>
      <ol className="browser-use-steps">
        <li>
          <strong>Rotate the secret</strong> (under Credentials below): stop the current secret now and tick “Also revoke every token issued so far”.
        </li>
        <li>
          <strong>Keep the new secret on your backend</strong>: only your server requests tokens, never the page.
        </li>
        <li>
          <strong>Give the page a browser token</strong>: allow browser tokens on the <Link to={permissions}>Permissions tab</Link> and use its backend example. Browser tokens are read-only, short-lived and bound to the page&apos;s key.
        </li>
      </ol>
    </section>
  );
}

function DetailsCard({ environmentId, integration, onChange, canWrite }: { environmentId: string; integration: Integration; onChange: (i: Integration) => void; canWrite: boolean }) {
  const session = useSession();
  const initial = { name: integration.name, description: integration.description };
  const draft = useDraft(`edit-integration:${integration.clientId}`, initial);
  const action = useAction(updateIntegration);
  const changes: { name?: string; description?: string } = {};
  if (draft.value.name.trim() !== integration.name) changes.name = draft.value.name.trim();
  if (draft.value.description.trim() !== integration.description) changes.description = draft.value.description.trim();
  const dirty = Object.keys(changes).length > 0;
  return (
    <section className="card" aria-labelledby="details-title">
      <h3 id="details-title">Details</h3>
      {canWrite ? (
        <form
          className="form"
          onSubmit={async (event) => {
            event.preventDefault();
            const updated = await action.run(environmentId, integration.clientId, changes);
            if (updated) {
              draft.clear({ name: updated.name, description: updated.description });
              onChange(updated);
              session.notify('Saved the name and description');
            }
          }}
        >
          <Field label="Name" error={action.error?.forField('name')}>
            {(props) => <input {...props} name="name" required maxLength={100} value={draft.value.name} onChange={(e) => draft.update({ name: e.target.value })} />}
          </Field>
          <Field label="Description" error={action.error?.forField('description')}>
            {(props) => <textarea {...props} name="description" rows={2} maxLength={500} value={draft.value.description} onChange={(e) => draft.update({ description: e.target.value })} />}
          </Field>
          <FormError error={action.error && !action.error.fieldErrors.length ? action.error : null} />
          <SaveActions label="Save" pending={action.pending} dirty={dirty} disabled={!draft.value.name.trim()} onDiscard={() => draft.clear(initial)} />
        </form>
      ) : (
        <dl className="facts">
          <div>
            <dt>Name</dt>
            <dd>{integration.name}</dd>
          </div>
          <div>
            <dt>Description</dt>
            <dd>{integration.description || <span className="muted">None</span>}</dd>
          </div>
        </dl>
      )}
    </section>
  );
}

const GRACE_CHOICES = [
  { seconds: 0, label: 'Stop the current secret now' },
  { seconds: 3600, label: 'Keep the current secret working for 1 hour' },
  { seconds: 86400, label: 'Keep the current secret working for 24 hours' },
  { seconds: 7 * 86400, label: 'Keep the current secret working for 7 days' },
];

function CredentialsCard({ environmentId, integration, onChange, onReveal, canWrite }: { environmentId: string; integration: Integration; onChange: (i: Integration) => void; onReveal: (r: RevealedSecret) => void; canWrite: boolean }) {
  const session = useSession();
  const [rotating, setRotating] = useState(false);
  const [grace, setGrace] = useState(86400);
  const [revokeTokens, setRevokeTokens] = useState(false);
  const rotate = useAction(rotateSecret);
  const [revoking, setRevoking] = useState<Secret | null>(null);
  const revoke = useAction(revokeSecret);
  const clientIdField = useId();
  const revokeTokensHint = useId();
  const closeRotate = () => {
    setRotating(false);
    // A revocation is chosen per incident, never carried over to the next rotation.
    setRevokeTokens(false);
    rotate.reset();
  };
  return (
    <section className="card" aria-labelledby="credentials-title">
      <h3 id="credentials-title">Credentials</h3>
      <div className="field">
        <label htmlFor={clientIdField}>Client ID</label>
        <div className="secret-row">
          <input id={clientIdField} className="mono" readOnly value={integration.clientId} onFocus={(e) => e.currentTarget.select()} data-testid="client-id" spellCheck={false} />
          <CopyButton text={integration.clientId} label="Copy the Client ID" onCopied={session.announce} />
        </div>
      </div>
      <div className="field">
        <span className="label">Client Secret</span>
        <p className="secret-hidden">
          <span className="mono" aria-hidden="true">
            ••••••••••••••••
          </span>{' '}
          <span className="muted">Shown only once, when created or rotated. Latchkey stores a hash, not the secret.</span>
        </p>
        {canWrite && (
          <button type="button" className="button secondary" onClick={() => setRotating(true)}>
            Rotate secret…
          </button>
        )}
      </div>
      <IssuedTokens environmentId={environmentId} integration={integration} onChange={onChange} canWrite={canWrite} />
      <div className="field">
        <span className="label">Used from a browser</span>
        <p data-testid="browser-use">
          {integration.browserUse ? (
            <>
              Yes: last from <code>{integration.browserUse.origin}</code> <Time iso={integration.browserUse.lastSeenAt} /> (see the warning above).
            </>
          ) : (
            'Never: no token request with its Client ID came from a web page.'
          )}
        </p>
      </div>
      <h4>Secrets</h4>
      <SecretsTable secrets={integration.secrets} canWrite={canWrite} onRevoke={setRevoking} />

      <ConfirmDialog
        open={rotating}
        title="Rotate the Client Secret"
        confirmLabel="Rotate secret"
        pending={rotate.pending}
        error={rotate.error}
        onClose={closeRotate}
        consequence={
          <p>
            A new Client Secret is created and shown once. {grace === 0 ? 'The current secret stops working at once' : `The current secret keeps working for ${formatDuration(grace)}, then stops`} — give your applications the new one before then.{' '}
            {revokeTokens ? `Every token issued so far is revoked: ${REVOCATION_REACH}.` : 'Tokens already issued stay valid until they expire.'}
          </p>
        }
        onConfirm={async () => {
          const result = await rotate.run(environmentId, integration.clientId, { graceSeconds: grace, revokeTokens });
          if (!result) return;
          closeRotate();
          onChange(result.integration);
          onReveal({ clientId: integration.clientId, secret: result.clientSecret, reason: 'rotated' });
          if (revokeTokens) session.notify('Secret rotated and every earlier token revoked');
        }}
      >
        <fieldset className="radio-group">
          <legend>The current secret</legend>
          {GRACE_CHOICES.map((choice) => (
            <label key={choice.seconds} className="radio">
              <input type="radio" name="grace" value={choice.seconds} checked={grace === choice.seconds} onChange={() => setGrace(choice.seconds)} />
              <span>{choice.label}</span>
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label className="checkbox">
            <input type="checkbox" checked={revokeTokens} onChange={(e) => setRevokeTokens(e.target.checked)} aria-describedby={revokeTokensHint} />
            <span>Also revoke every token issued so far</span>
          </label>
          <p className="hint" id={revokeTokensHint}>
            Choose this if the secret or a token may have leaked. If the secret leaked, also stop the current secret now: during a grace period it can still get new tokens.
          </p>
        </div>
      </ConfirmDialog>

      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke secret #${revoking?.generation ?? ''}?`}
        danger
        confirmLabel="Revoke secret"
        pending={revoke.pending}
        error={revoke.error}
        onClose={() => {
          setRevoking(null);
          revoke.reset();
        }}
        consequence={<p>Applications still using this secret get invalid_client from now on. Tokens already issued with it stay valid until they expire; to stop those too, revoke all tokens.</p>}
        onConfirm={async () => {
          if (!revoking) return;
          const updated = await revoke.run(environmentId, integration.clientId, revoking.id);
          if (!updated) return;
          setRevoking(null);
          onChange(updated);
          session.notify(`Secret #${revoking.generation} revoked`);
        }}
      />
    </section>
  );
}

/** When the integration's tokens were last revoked as a whole and, for admins, revoking them all now (a suspected leak). */
function IssuedTokens({ environmentId, integration, onChange, canWrite }: { environmentId: string; integration: Integration; onChange: (i: Integration) => void; canWrite: boolean }) {
  const session = useSession();
  const [confirming, setConfirming] = useState(false);
  const revoke = useAction(revokeIntegrationTokens);
  const close = () => {
    setConfirming(false);
    revoke.reset();
  };
  return (
    <div className="field">
      <span className="label">Issued tokens</span>
      <p className="tokens-revoked" data-testid="tokens-revoked">
        {integration.tokensRevokedAt ? (
          <>
            Tokens issued before{' '}
            <time dateTime={integration.tokensRevokedAt}>{formatDateTimeToTheSecond(integration.tokensRevokedAt)}</time>{' '}
            are revoked.
          </>
        ) : (
          'Each token works until it expires, unless it is revoked.'
        )}
      </p>
      {canWrite && (
        <button type="button" className="button danger-outline" onClick={() => setConfirming(true)}>
          Revoke all tokens…
        </button>
      )}
      <ConfirmDialog
        open={confirming}
        title={`Revoke all tokens of ${integration.name}?`}
        danger
        confirmLabel="Revoke all tokens"
        pending={revoke.pending}
        error={revoke.error}
        onClose={close}
        consequence={
          <>
            <p>
              <strong>Every token issued to {integration.name} so far stops working on every API that checks revocation:</strong> {REVOCATION_REACH}.{' '}
              {integration.disabled
                ? 'It is disabled, so it gets no new token until it is enabled again.'
                : 'Applications simply request a new token; their Client ID and secret keep working.'}
            </p>
            <p>Use this when a token may have leaked. If the secret may have leaked too, rotate the secret instead and tick “Also revoke every token issued so far”.</p>
          </>
        }
        onConfirm={async () => {
          const updated = await revoke.run(environmentId, integration.clientId);
          if (!updated) return;
          close();
          onChange(updated);
          session.notify(`Revoked every token issued to ${updated.name} so far`);
        }}
      />
    </div>
  );
}

const SECRET_STATUS: Record<Secret['status'], string> = { active: 'Active', expiring: 'In grace period', expired: 'Expired' };

function SecretsTable({ secrets, canWrite, onRevoke }: { secrets: Secret[]; canWrite: boolean; onRevoke: (secret: Secret) => void }) {
  if (secrets.length === 0) return <p className="muted">This integration has no secret. Rotate to create one.</p>;
  const sorted = [...secrets].sort((a, b) => b.generation - a.generation);
  return (
    <table className="table responsive compact" data-testid="secrets">
      <thead>
        <tr>
          <th scope="col">Secret</th>
          <th scope="col">Status</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">Expires</th>
          {canWrite && (
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {sorted.map((secret) => (
          <tr key={secret.id}>
            <td data-label="Secret">#{secret.generation}</td>
            <td data-label="Status">
              <span className={`badge ${secret.status === 'active' ? 'badge-ok' : secret.status === 'expiring' ? 'badge-warn' : 'badge-muted'}`}>{SECRET_STATUS[secret.status]}</span>
            </td>
            <td data-label="Created">
              <Time iso={secret.createdAt} />
            </td>
            <td data-label="Last used">
              <Time iso={secret.lastUsedAt} />
            </td>
            <td data-label="Expires">{secret.expiresAt ? <Time iso={secret.expiresAt} /> : <span className="muted">Never</span>}</td>
            {canWrite && (
              <td className="row-actions">
                {secret.status === 'expiring' && (
                  <button type="button" className="button ghost small" onClick={() => onRevoke(secret)}>
                    Revoke now
                  </button>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The last 30 days, oldest first, as YYYY-MM-DD (UTC, as the server counts). */
function lastDays(count: number, now = Date.now()): string[] {
  return Array.from({ length: count }, (_, i) => new Date(now - (count - 1 - i) * 86400_000).toISOString().slice(0, 10));
}

function UsageCard({ environmentId, integration }: { environmentId: string; integration: Integration }) {
  const usage = useResource(`usage:${integration.clientId}:${integration.lastUsedAt ?? ''}`, () => getUsage(environmentId, integration.clientId, 30));
  return (
    <section className="card" aria-labelledby="usage-title">
      <div className="card-header">
        <h3 id="usage-title">Tokens issued per day</h3>
        <button type="button" className="button ghost small" onClick={usage.reload}>
          Refresh
        </button>
      </div>
      {usage.status === 'loading' && <Loading label="Loading usage…" />}
      {usage.status === 'error' && <ErrorState what="usage" error={usage.error} onRetry={usage.reload} />}
      {usage.status === 'ready' && <UsageChart usage={usage.data} />}
    </section>
  );
}

function UsageChart({ usage }: { usage: Usage }) {
  const days = lastDays(30);
  const byDay = new Map(usage.days.map((d) => [d.day, d]));
  const rows = days.map((day) => ({ day, minted: byDay.get(day)?.tokensMinted ?? 0, cached: byDay.get(day)?.tokensCached ?? 0, failures: byDay.get(day)?.failures ?? 0 }));
  const total = rows.reduce((sum, r) => sum + r.minted + r.cached, 0);
  const failures = rows.reduce((sum, r) => sum + r.failures, 0);
  const max = Math.max(1, ...rows.map((r) => r.minted + r.cached));
  const [width, height, gap] = [600, 120, 4];
  const bar = (width - gap * (rows.length - 1)) / rows.length;
  const summary = `${total} token${total === 1 ? '' : 's'} handed out in the last 30 days${failures ? `, ${failures} failed request${failures === 1 ? '' : 's'}` : ''}.`;
  return (
    <div className="usage">
      <p>
        {summary} Last used: <Time iso={usage.lastUsedAt} />.
      </p>
      {total === 0 ? (
        <p className="muted">No tokens yet. Use one of the snippets below to request the first one.</p>
      ) : (
        <>
          <svg className="chart" viewBox={`0 0 ${width} ${height + 18}`} role="img" aria-label={`Bar chart: ${summary}`} preserveAspectRatio="none">
            {rows.map((r, i) => {
              const x = i * (bar + gap);
              const hMinted = (r.minted / max) * height;
              const hCached = (r.cached / max) * height;
              return (
                <g key={r.day}>
                  <title>{`${r.day}: ${r.minted} newly signed, ${r.cached} from the cache`}</title>
                  <rect className="bar-cached" x={x} y={height - hMinted - hCached} width={bar} height={hCached} />
                  <rect className="bar-minted" x={x} y={height - hMinted} width={bar} height={hMinted} />
                </g>
              );
            })}
            <line className="axis" x1="0" x2={width} y1={height + 0.5} y2={height + 0.5} />
            <text className="axis-label" x="0" y={height + 15}>
              {days[0]}
            </text>
            <text className="axis-label" x={width} y={height + 15} textAnchor="end">
              today
            </text>
          </svg>
          <p className="legend">
            <span className="swatch swatch-minted" aria-hidden="true" /> newly signed <span className="swatch swatch-cached" aria-hidden="true" /> same token again, from the cache
          </p>
        </>
      )}
    </div>
  );
}

/** How to get a token: token URL, audience, docs links and ready-to-run snippets. */
function TokenCard({ environmentId, integration }: { environmentId: string; integration: Integration }) {
  const session = useSession();
  const [meta, setMeta] = useState<{ metadata: ServerMetadata; catalogue: ApiCatalogue } | { error: string } | null>(null);
  const grantedApis = (Object.keys(integration.grants) as ApiId[]).filter((id) => (integration.grants[id] ?? []).length > 0);
  const [apiId, setApiId] = useState<ApiId>('environment-api');
  const [language, setLanguage] = useState<SnippetLanguage>('curl');
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);
  const panelId = useId();
  useEffect(() => {
    Promise.all([getServerMetadata(), getApiCatalogue()]).then(
      ([metadata, catalogue]) => setMeta({ metadata, catalogue }),
      (error: Error) => setMeta({ error: error.message }),
    );
  }, [session.epoch]);
  const docs = `/docs/environments/${encodeURIComponent(environmentId)}`;

  const onTabKey = (event: KeyboardEvent<HTMLButtonElement>, index: number) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    const jump = event.key === 'Home' ? 0 : event.key === 'End' ? SNIPPET_LANGUAGES.length - 1 : null;
    if (!step && jump === null) return;
    event.preventDefault();
    const next = jump ?? (index + step + SNIPPET_LANGUAGES.length) % SNIPPET_LANGUAGES.length;
    setLanguage(SNIPPET_LANGUAGES[next]!.id);
    tabRefs.current[next]?.focus();
  };

  return (
    <section className="card" aria-labelledby="token-title">
      <h3 id="token-title">Get an access token</h3>
      {meta === null && <Loading label="Loading the token endpoint…" />}
      {meta && 'error' in meta && (
        <p className="form-error" role="alert">
          Could not read the server metadata: {meta.error}
        </p>
      )}
      {meta && 'metadata' in meta && (
        <>
          <dl className="facts">
            <div>
              <dt>Token URL</dt>
              <dd>
                <code data-testid="token-url">{meta.metadata.token_endpoint}</code>
              </dd>
            </div>
            <div>
              <dt>Audience</dt>
              <dd>
                <code data-testid="audience">{meta.catalogue.apis.find((a) => a.id === apiId)?.audience}</code>
              </dd>
            </div>
          </dl>
          {grantedApis.includes('platform-api') && (
            <fieldset className="radio-group inline">
              <legend>Token for</legend>
              {meta.catalogue.apis.map((api) => (
                <label key={api.id} className="radio">
                  <input type="radio" name="snippet-api" checked={apiId === api.id} onChange={() => setApiId(api.id)} />
                  <span>{api.name}</span>
                </label>
              ))}
            </fieldset>
          )}
          {grantedApis.length === 0 && (
            <Notice tone="info">
              <p>This integration has no permissions yet, so a token request is refused with access_denied. Grant scopes in the Permissions tab first.</p>
            </Notice>
          )}
          <div className="snippet-tabs" role="tablist" aria-label="Language">
            {SNIPPET_LANGUAGES.map((lang, index) => (
              <button
                key={lang.id}
                ref={(el) => {
                  tabRefs.current[index] = el;
                }}
                type="button"
                role="tab"
                id={`${panelId}-${lang.id}`}
                aria-selected={language === lang.id}
                aria-controls={panelId}
                tabIndex={language === lang.id ? 0 : -1}
                className={`snippet-tab ${language === lang.id ? 'active' : ''}`}
                onClick={() => setLanguage(lang.id)}
                onKeyDown={(event) => onTabKey(event, index)}
              >
                {lang.label}
              </button>
            ))}
          </div>
          <Snippet
            id={panelId}
            labelledBy={`${panelId}-${language}`}
            language={language}
            text={buildSnippet(language, { tokenUrl: meta.metadata.token_endpoint, clientId: integration.clientId, audience: meta.catalogue.apis.find((a) => a.id === apiId)?.audience ?? '' })}
          />
          <p className="muted">
            The snippets read the secret from the <code>{SECRET_VARIABLE}</code> environment variable, so it never lands in code or shell history. The server caches tokens: asking again returns the same token until about an hour before it expires.
          </p>
          <p className="muted" data-testid="snippets-backend-only">
            Run them on a server. A token request from a web page (one with a browser <code>Origin</code>) is refused with unauthorized_client unless the environment allows it; a page gets a browser token from your backend instead (see the Permissions tab).
          </p>
          <Notice tone="danger" title="Handle tokens with the same care as the secret">
            <p>
              A token keeps its permissions until it expires or is revoked. Disabling or deleting the integration, and removing any of its scopes, revoke every token issued before; adding scopes and revoking one secret do not, and neither does rotating the secret unless you choose to. If a token may have leaked, revoke all tokens (under Credentials). A revoked token is refused everywhere it is checked: {REVOCATION_REACH}.
            </p>
          </Notice>
          <h4>API documentation for this environment</h4>
          <ul className="link-list">
            <li>
              <a href={`${docs}#/Environment%20API%3A%20Templates`} target="_blank" rel="noreferrer">
                Environment API docs <Icon name="external" />
              </a>
            </li>
            <li>
              <a href={`${docs}#/Integrations`} target="_blank" rel="noreferrer">
                Platform API docs <Icon name="external" />
              </a>
            </li>
          </ul>
        </>
      )}
    </section>
  );
}

function Snippet({ id, labelledBy, language, text }: { id: string; labelledBy: string; language: SnippetLanguage; text: string }) {
  const session = useSession();
  return (
    <div className="snippet" role="tabpanel" id={id} aria-labelledby={labelledBy}>
      <pre tabIndex={0} data-testid={`snippet-${language}`}>
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label={`Copy the ${language} snippet`} onCopied={session.announce} className="snippet-copy" />
    </div>
  );
}

/** Disable, enable and delete: each confirmation says what happens to tokens already out there (disable and delete revoke them). */
function DangerZone({ environmentId, integration, onChange }: { environmentId: string; integration: Integration; onChange: (i: Integration) => void }) {
  const session = useSession();
  const [confirm, setConfirm] = useState<'toggle' | 'delete' | null>(null);
  const toggle = useAction(setIntegrationDisabled);
  const remove = useAction(async () => {
    await deleteIntegration(environmentId, integration.clientId);
    return true;
  });
  const close = () => {
    setConfirm(null);
    toggle.reset();
    remove.reset();
  };
  return (
    <section className="card danger-zone" aria-labelledby="danger-title">
      <h3 id="danger-title">Disable or delete</h3>
      <div className="danger-row">
        <div>
          <strong>{integration.disabled ? 'Enable this integration' : 'Disable this integration'}</strong>
          <p className="muted">{integration.disabled ? 'It is disabled: token requests get invalid_client. Enabling lets it get tokens again with its current secrets.' : 'Token requests are refused and every token issued so far is revoked, at once; you can enable it again later.'}</p>
        </div>
        <button type="button" className={`button ${integration.disabled ? 'secondary' : 'danger-outline'}`} onClick={() => setConfirm('toggle')}>
          {integration.disabled ? 'Enable…' : 'Disable…'}
        </button>
      </div>
      <div className="danger-row">
        <div>
          <strong>Delete this integration</strong>
          <p className="muted">Its Client ID, secrets and tokens stop working for good.</p>
        </div>
        <button type="button" className="button danger" onClick={() => setConfirm('delete')}>
          Delete…
        </button>
      </div>
      <ConfirmDialog
        open={confirm === 'toggle'}
        title={integration.disabled ? `Enable ${integration.name}?` : `Disable ${integration.name}?`}
        danger={!integration.disabled}
        confirmLabel={integration.disabled ? 'Enable integration' : 'Disable integration'}
        pending={toggle.pending}
        error={toggle.error}
        onClose={close}
        consequence={
          integration.disabled ? (
            <p>{integration.name} can get new tokens again with its current secrets and permissions. Tokens revoked when it was disabled stay revoked.</p>
          ) : (
            <p>
              {integration.name} can no longer get new tokens: every request gets invalid_client. <strong>Every token issued to it so far is revoked:</strong> {REVOCATION_REACH}. Enabling it again does not bring those tokens back.
            </p>
          )
        }
        onConfirm={async () => {
          const updated = await toggle.run(environmentId, integration.clientId, !integration.disabled);
          if (!updated) return;
          close();
          onChange(updated);
          session.notify(updated.disabled ? 'Integration disabled' : 'Integration enabled');
        }}
      />
      <ConfirmDialog
        open={confirm === 'delete'}
        title={`Delete ${integration.name}?`}
        danger
        confirmLabel="Delete integration"
        pending={remove.pending}
        error={remove.error}
        onClose={close}
        consequence={
          <p>
            The integration, its Client ID and all its secrets are deleted; applications using them get invalid_client. <strong>Every token issued to it is revoked:</strong> {REVOCATION_REACH}. This cannot be undone.
          </p>
        }
        onConfirm={async () => {
          if (!(await remove.run())) return;
          close();
          session.notify(`Deleted ${integration.name}`);
          navigate(pathTo('environments', environmentId));
        }}
      />
    </section>
  );
}


