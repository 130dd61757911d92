import { useEffect, useId, useRef, useState } from 'react';
import { getApiCatalogue, getEnvironment, getServerMetadata, setPermissions } from '../api.ts';
import { buildBrowserTokenBackend, buildBrowserTokenPage, type BrowserTokenSnippetInput } from '../browser-token-snippets.ts';
import { formatLifetime } from '../format.ts';
import { useAction, useResource, useSession } from '../hooks.ts';
import { applyPreset, describeScopeKey, flattenGrants, groupByResource, matchesPreset, toGrants, writeScopes, type ScopeSet } from '../permissions.ts';
import { pathTo } from '../router.ts';
import type { ApiCatalogue, Integration, PermissionsResult, PermissionsUpdate } from '../wire.ts';
import { CopyButton, ErrorState, FormError, Link, Loading, Notice, SaveActions } from '../components/ui.tsx';

interface PermissionsProps {
  environmentId: string;
  integration: Integration;
  onChange: (integration: Integration) => void;
  /** Reloads the integration: a save that removes scopes also moves its `tokensRevokedAt`, which the PUT response does not carry. */
  onReload: () => void;
}

/** Permissions: scopes per API and resource, the Read-only and All permissions presets, browser tokens, and a save that says what changed. */
export function PermissionsTab({ environmentId, integration, onChange, onReload }: PermissionsProps) {
  const catalogue = useResource('api-catalogue', getApiCatalogue);
  if (catalogue.status === 'loading') return <Loading label="Loading scopes…" />;
  if (catalogue.status === 'error') return <ErrorState what="the scope catalogue" error={catalogue.error} onRetry={catalogue.reload} />;
  return <PermissionsEditor environmentId={environmentId} integration={integration} onChange={onChange} onReload={onReload} catalogue={catalogue.data} />;
}

function sameSet(a: ScopeSet, b: ScopeSet): boolean {
  return a.size === b.size && [...a].every((key) => b.has(key));
}

function PermissionsEditor({ environmentId, integration, onChange, onReload, catalogue }: PermissionsProps & { catalogue: ApiCatalogue }) {
  const session = useSession();
  const canWrite = session.canWrite(environmentId);
  const saved = flattenGrants(integration.grants);
  const [selected, setSelected] = useState<ScopeSet>(() => new Set(saved));
  const [browserTokens, setBrowserTokens] = useState(integration.browserTokens);
  const [result, setResult] = useState<PermissionsResult | null>(null);
  const save = useAction(setPermissions);
  const scopesDirty = !sameSet(selected, saved);
  const browserTokensDirty = browserTokens !== integration.browserTokens;
  const dirty = scopesDirty || browserTokensDirty;
  // The server revokes every earlier token when a save removes any scope (those tokens carry it).
  const removesScopes = [...saved].some((key) => !selected.has(key));
  // When the saved grants change underneath (reloaded after signing in again) and nothing is being
  // edited, follow them; unsaved edits are kept. Runs only when the saved grants change.
  const savedKey = [...saved].sort().join(' ');
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  useEffect(() => {
    if (!dirtyRef.current) {
      setSelected(new Set(savedKey ? savedKey.split(' ') : []));
      setBrowserTokens(integration.browserTokens);
    }
  }, [savedKey, integration.browserTokens]);

  const toggle = (key: string, on: boolean) => {
    setResult(null);
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(key);
      else next.delete(key);
      return next;
    });
  };
  const preset = (name: 'read-only' | 'all') => {
    setResult(null);
    setSelected((current) => applyPreset(current, name, catalogue));
  };
  const writes = writeScopes(selected);

  return (
    <form
      className="stack"
      onSubmit={async (event) => {
        event.preventDefault();
        // Only what changed is sent: turning browser tokens on must not rewrite the scopes, nor the reverse.
        const update: PermissionsUpdate = {};
        if (scopesDirty) update.grants = toGrants(selected, catalogue);
        if (browserTokensDirty) update.browserTokens = browserTokens;
        const response = await save.run(environmentId, integration.clientId, update);
        if (!response) return;
        setResult(response);
        onChange({ ...integration, grants: response.grants, grantVersion: response.grantVersion, browserTokens: response.browserTokens });
        if (response.changed?.removed.length) onReload();
      }}
    >
      <section className="card" aria-labelledby="permissions-title">
        <div className="card-header">
          <div>
            <h3 id="permissions-title">Permissions</h3>
            <p className="muted">Scopes decide what tokens of this integration may do in this environment.</p>
          </div>
          {canWrite && (
            <div className="preset-buttons" role="group" aria-label="Presets for the Environment API">
              <button type="button" className={`button secondary ${matchesPreset(selected, 'read-only', catalogue) ? 'pressed' : ''}`} aria-pressed={matchesPreset(selected, 'read-only', catalogue)} onClick={() => preset('read-only')}>
                Read-only
              </button>
              <button type="button" className={`button secondary ${matchesPreset(selected, 'all', catalogue) ? 'pressed' : ''}`} aria-pressed={matchesPreset(selected, 'all', catalogue)} onClick={() => preset('all')}>
                All permissions
              </button>
            </div>
          )}
        </div>
        <ul className="preset-help muted">
          <li>
            <strong>Read-only</strong>: for a service that only reads templates, projects, media and fonts.
          </li>
          <li>
            <strong>All permissions</strong>: for full use of the Environment API from your back end only. For the editor in a page, let the back end mint browser tokens (below).
          </li>
        </ul>
        {writes.length > 0 && (
          <Notice tone="danger" title="Tokens with write permissions must never be sent to a browser / front-end">
            <p>
              With {writes.map((key) => describeScopeKey(key, catalogue)).join(', ')}, this integration's tokens can change your data. A common security mistake is sending such a token to the front end to load the editor: it puts your data at risk and may cost you unwanted renders. Give the page a browser token instead (below): read-only, short-lived and bound to the page.
            </p>
          </Notice>
        )}
      </section>

      {catalogue.apis.map((api) => (
        <fieldset key={api.id} className="card scope-api" disabled={!canWrite}>
          <legend>
            <span className="api-name">{api.name}</span> <code className="muted">{api.audience}</code>
          </legend>
          <div className="scope-groups">
            {groupByResource(api.scopes).map((group) => (
              <div key={group.resource} className="scope-group" role="group" aria-label={`${api.name}: ${group.resource}`}>
                <h4>{group.resource}</h4>
                {group.scopes.map((scope) => {
                  const key = `${api.id}:${scope.name}`;
                  return (
                    <label key={key} className="checkbox scope">
                      <input type="checkbox" name={key} checked={selected.has(key)} onChange={(e) => toggle(key, e.target.checked)} />
                      <span>
                        <code>{scope.name}</code>
                        <span className="muted scope-description">{scope.description}</span>
                      </span>
                    </label>
                  );
                })}
              </div>
            ))}
          </div>
        </fieldset>
      ))}

      <BrowserTokensCard environmentId={environmentId} integration={integration} canWrite={canWrite} checked={browserTokens} onToggle={(on) => {
        setResult(null);
        setBrowserTokens(on);
      }} />

      {canWrite && (
        <div className="save-bar">
          <FormError error={save.error} />
          {result && <SaveResult result={result} catalogue={catalogue} />}
          {dirty && removesScopes && (
            <p className="hint" data-testid="permissions-revokes">
              Saving removes scopes, so every token issued to this integration so far is revoked; applications get new tokens with the new scopes.
            </p>
          )}
          <SaveActions
            label="Save permissions"
            pending={save.pending}
            dirty={dirty}
            onDiscard={() => {
              setSelected(new Set(saved));
              setBrowserTokens(integration.browserTokens);
              save.reset();
            }}
          >
            {dirty && <span className="muted">Unsaved changes</span>}
          </SaveActions>
        </div>
      )}
      {!canWrite && <p className="muted">You can view these permissions; an admin of this environment can change them.</p>}
    </form>
  );
}

/** What the save changed, from the PUT response's `changed`, and what that means for tokens (the server's `note`; the same words if it sent none). */
function SaveResult({ result, catalogue }: { result: PermissionsResult; catalogue: ApiCatalogue }) {
  const added = result.changed?.added ?? [];
  const removed = result.changed?.removed ?? [];
  const browserTokens = result.changed?.browserTokens;
  if (added.length + removed.length === 0 && browserTokens === undefined) {
    return (
      <p className="notice notice-info" role="status" data-testid="permissions-result">
        Nothing changed: the integration already had exactly these permissions.
      </p>
    );
  }
  return (
    <div className="notice notice-success" role="status" data-testid="permissions-result">
      <div>
        <strong className="notice-title">Permissions saved</strong>
        {added.length > 0 && <p>Added: {added.map((key) => describeScopeKey(key, catalogue)).join(', ')}</p>}
        {removed.length > 0 && <p>Removed: {removed.map((key) => describeScopeKey(key, catalogue)).join(', ')}</p>}
        {browserTokens !== undefined && <p>{browserTokens ? 'Browser tokens: allowed.' : 'Browser tokens: no longer allowed.'}</p>}
        <p>{result.note ?? (removed.length > 0 ? 'The next token request gets the new scopes; every token issued before this change was revoked, since it carries a removed scope.' : 'The next token request gets the new scopes; tokens already issued keep theirs until they expire.')}</p>
      </div>
    </div>
  );
}

/**
 * Browser tokens: what they are, the "May mint browser tokens" switch (saved with the scopes), and a
 * runnable backend + page example filled with this Client ID and the server's real issuer.
 */
function BrowserTokensCard({ environmentId, integration, canWrite, checked, onToggle }: { environmentId: string; integration: Integration; canWrite: boolean; checked: boolean; onToggle: (on: boolean) => void }) {
  const hintId = useId();
  const environment = useResource(`environment:${environmentId}`, () => getEnvironment(environmentId));
  const lifetime = environment.status === 'ready' ? `${formatLifetime(environment.data.browserTokenLifetimeSeconds)} in this environment` : '15 minutes by default';
  return (
    <section className="card browser-tokens" aria-labelledby="browser-tokens-title" data-testid="browser-tokens">
      <h3 id="browser-tokens-title">Browser tokens</h3>
      <p>
        A page must never hold this integration&apos;s Client Secret or its tokens: any script in the page can read them and use them from anywhere. Keep them on your backend, and let the backend exchange its own token for a <strong>browser token</strong> to hand to the page (RFC 8693 token exchange). A browser token is:
      </p>
      <ul className="browser-token-facts">
        <li>
          <strong>Read-only</strong>: it carries read scopes only (a subset of the backend token&apos;s); asking for a write scope is refused.
        </li>
        <li>
          <strong>Short-lived</strong>: {lifetime} (<Link to={pathTo('environments', environmentId, 'settings')}>environment settings</Link>), at most an hour; the page gets a new one before it expires.
        </li>
        <li>
          <strong>Bound to the page&apos;s key (DPoP)</strong>: the page keeps a key no script can read out and signs every request with it, so a token copied out of the page is refused anywhere else.
        </li>
      </ul>
      <label className="checkbox browser-tokens-switch">
        <input type="checkbox" name="browserTokens" checked={checked} disabled={!canWrite} onChange={(e) => onToggle(e.target.checked)} aria-describedby={hintId} />
        <span>May mint browser tokens</span>
      </label>
      <p className="hint" id={hintId}>
        {checked === integration.browserTokens
          ? integration.browserTokens
            ? 'On: this integration may exchange its tokens for browser tokens.'
            : 'Off: a token exchange by this integration is refused with unauthorized_client.'
          : 'Takes effect when you save the permissions.'}
      </p>
      <BrowserTokenExample environmentId={environmentId} clientId={integration.clientId} />
    </section>
  );
}

/** The backend and page halves of the example, each with a copy button. */
function BrowserTokenExample({ environmentId, clientId }: { environmentId: string; clientId: string }) {
  const metadata = useResource('server-metadata', getServerMetadata);
  const catalogue = useResource('api-catalogue', getApiCatalogue);
  if (metadata.status === 'loading' || catalogue.status === 'loading') return <Loading label="Loading the token endpoint…" />;
  if (metadata.status === 'error') return <ErrorState what="the server metadata" error={metadata.error} onRetry={metadata.reload} />;
  if (catalogue.status === 'error') return <ErrorState what="the scope catalogue" error={catalogue.error} onRetry={catalogue.reload} />;
  const input: BrowserTokenSnippetInput = {
    issuer: metadata.data.issuer,
    tokenUrl: metadata.data.token_endpoint,
    clientId,
    audience: catalogue.data.apis.find((api) => api.id === 'environment-api')?.audience ?? '',
    environmentId,
  };
  return (
    <>
      <h4>Example: a Node backend and its page</h4>
      <p className="muted">
        The backend keeps the secret (read from <code>LATCHKEY_CLIENT_SECRET</code>) and answers the page&apos;s <code>POST /browser-token</code>; the page uses <code>@latchkey/client/browser</code>. Both come from <code>npm install @latchkey/client</code>.
      </p>
      <CodeBlock title="Backend: server.mjs" testId="browser-token-backend" text={buildBrowserTokenBackend(input)} copyLabel="Copy the backend example" />
      <CodeBlock title="Page" testId="browser-token-page" text={buildBrowserTokenPage(input)} copyLabel="Copy the page example" />
    </>
  );
}

function CodeBlock({ title, testId, text, copyLabel }: { title: string; testId: string; text: string; copyLabel: string }) {
  const session = useSession();
  const titleId = useId();
  return (
    <figure className="code-block" aria-labelledby={titleId}>
      <figcaption id={titleId}>{title}</figcaption>
      <div className="snippet">
        <pre tabIndex={0} data-testid={testId}>
          <code>{text}</code>
        </pre>
        <CopyButton text={text} label={copyLabel} onCopied={session.announce} className="snippet-copy" />
      </div>
    </figure>
  );
}
