import { useId, useState } from 'react';
import { deleteEnvironment, renameEnvironment, setBrowserTokenSettings } from '../api.ts';
import { useDraft } from '../drafts.ts';
import { useAction, useSession, useTitle } from '../hooks.ts';
import { navigate } from '../router.ts';
import { REVOCATION_REACH } from '../revocation.ts';
import { formatLifetime } from '../format.ts';
import { BROWSER_TOKEN_LIFETIME_BOUNDS, type BrowserTokenSettingsUpdate, type Environment } from '../wire.ts';
import { ConfirmDialog, Field, FormError, Icon, Notice, SaveActions, Time } from '../components/ui.tsx';

/** An environment's settings: its name (platform admins rename and delete), browser tokens (environment admins), API docs. */
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

      <BrowserTokenSettingsCard environment={environment} onChanged={onChanged} />

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

const { min: MIN_LIFETIME, max: MAX_LIFETIME } = BROWSER_TOKEN_LIFETIME_BOUNDS;

/**
 * Browser tokens in this environment: how long the tokens minted by token exchange live, and whether
 * client_credentials requests from a browser are answered (off by default; turning it on is warned
 * against). Environment admins change them; viewers see them.
 */
function BrowserTokenSettingsCard({ environment, onChanged }: { environment: Environment; onChanged: (environment: Environment) => void }) {
  const session = useSession();
  const canWrite = session.canWrite(environment.id);
  const saved = { lifetime: String(environment.browserTokenLifetimeSeconds), allowClientCredentials: environment.allowClientCredentialsFromBrowser };
  const draft = useDraft(`browser-tokens:${environment.id}`, saved);
  const save = useAction(setBrowserTokenSettings);
  const allowHint = useId();
  const lifetime = Number(draft.value.lifetime);
  const lifetimeValid = draft.value.lifetime.trim() !== '' && Number.isInteger(lifetime) && lifetime >= MIN_LIFETIME && lifetime <= MAX_LIFETIME;
  const update: BrowserTokenSettingsUpdate = {};
  if (lifetimeValid && lifetime !== environment.browserTokenLifetimeSeconds) update.browserTokenLifetimeSeconds = lifetime;
  if (draft.value.allowClientCredentials !== environment.allowClientCredentialsFromBrowser) update.allowClientCredentialsFromBrowser = draft.value.allowClientCredentials;
  const dirty = draft.value.lifetime.trim() !== saved.lifetime || draft.value.allowClientCredentials !== saved.allowClientCredentials;

  return (
    <section className="card" aria-labelledby="env-browser-tokens" data-testid="environment-browser-tokens">
      <h2 id="env-browser-tokens">Browser tokens</h2>
      <p>
        Integrations allowed to mint browser tokens (their Permissions tab) exchange their own tokens for short-lived, read-only tokens bound to a page&apos;s key. Which pages may load media and fonts cross-origin is set with <code>latchkey environments set-browser-origins</code>.
      </p>
      {canWrite ? (
        <form
          className="form"
          noValidate
          onSubmit={async (event) => {
            event.preventDefault();
            if (!lifetimeValid || Object.keys(update).length === 0) return;
            const result = await save.run(environment.id, update);
            if (!result) return;
            draft.clear({ lifetime: String(result.browserTokenLifetimeSeconds), allowClientCredentials: result.allowClientCredentialsFromBrowser });
            onChanged({ ...environment, ...result });
            session.notify('Saved the browser-token settings');
          }}
        >
          <Field
            label="Browser token lifetime (seconds)"
            hint={`${MIN_LIFETIME} to ${MAX_LIFETIME} (1 minute to 1 hour). Now: ${formatLifetime(environment.browserTokenLifetimeSeconds)}. Applies to browser tokens minted from now on.`}
            error={!lifetimeValid ? `Enter a whole number of seconds from ${MIN_LIFETIME} to ${MAX_LIFETIME}.` : save.error?.forField('browserTokenLifetimeSeconds')}
          >
            {(props) => (
              <input
                {...props}
                name="browserTokenLifetimeSeconds"
                type="number"
                inputMode="numeric"
                min={MIN_LIFETIME}
                max={MAX_LIFETIME}
                step={1}
                required
                className="narrow"
                value={draft.value.lifetime}
                onChange={(e) => draft.update({ lifetime: e.target.value })}
              />
            )}
          </Field>
          <div className="field">
            <label className="checkbox">
              <input type="checkbox" name="allowClientCredentialsFromBrowser" checked={draft.value.allowClientCredentials} onChange={(e) => draft.update({ allowClientCredentials: e.target.checked })} aria-describedby={allowHint} />
              <span>Allow client credentials from a browser</span>
            </label>
            <p className="hint" id={allowHint}>
              Off (recommended): a token request with a Client Secret that carries a browser <code>Origin</code> is refused with unauthorized_client.
            </p>
          </div>
          {draft.value.allowClientCredentials && <ClientCredentialsFromBrowserWarning />}
          <FormError error={save.error && !save.error.fieldErrors.length ? save.error : null} />
          <SaveActions
            label="Save browser-token settings"
            pending={save.pending}
            dirty={dirty}
            disabled={!lifetimeValid || Object.keys(update).length === 0}
            onDiscard={() => {
              draft.clear(saved);
              save.reset();
            }}
          />
        </form>
      ) : (
        <>
          <dl className="facts">
            <div>
              <dt>Browser token lifetime</dt>
              <dd>{formatLifetime(environment.browserTokenLifetimeSeconds)}</dd>
            </div>
            <div>
              <dt>Client credentials from a browser</dt>
              <dd>{environment.allowClientCredentialsFromBrowser ? 'Allowed' : 'Refused'}</dd>
            </div>
          </dl>
          {environment.allowClientCredentialsFromBrowser && <ClientCredentialsFromBrowserWarning />}
          <p className="muted">An admin of this environment can change these settings.</p>
        </>
      )}
    </section>
  );
}

function ClientCredentialsFromBrowserWarning() {
  return (
    <Notice tone="danger" title="A Client Secret in a page is readable by anyone who loads it">
      <p>
        With this on, Latchkey answers token requests from web pages that send a Client ID and Client Secret, so a secret shipped to a browser keeps working for whoever copies it. Keep secrets on your backend and give pages browser tokens instead; the integration&apos;s General tab still shows when its credentials were used from a browser.
      </p>
    </Notice>
  );
}
