import { useEffect, useRef, useState } from 'react';
import { getApiCatalogue, setPermissions } from '../api.ts';
import { useAction, useResource, useSession } from '../hooks.ts';
import { applyPreset, describeScopeKey, flattenGrants, groupByResource, matchesPreset, toGrants, writeScopes, type ScopeSet } from '../permissions.ts';
import type { ApiCatalogue, Integration, PermissionsResult } from '../wire.ts';
import { ErrorState, FormError, Loading, Notice } from '../components/ui.tsx';

interface PermissionsProps {
  environmentId: string;
  integration: Integration;
  onChange: (integration: Integration) => void;
  /** Reloads the integration: a save that removes scopes also moves its `tokensRevokedAt`, which the PUT response does not carry. */
  onReload: () => void;
}

/** Permissions: scopes per API and resource, the Read-only and All permissions presets, and a save that says what changed. */
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
  const [result, setResult] = useState<PermissionsResult | null>(null);
  const save = useAction(setPermissions);
  const dirty = !sameSet(selected, saved);
  // The server revokes every earlier token when a save removes any scope (those tokens carry it).
  const removesScopes = [...saved].some((key) => !selected.has(key));
  // When the saved grants change underneath (reloaded after signing in again) and nothing is being
  // edited, follow them; unsaved edits are kept. Runs only when the saved grants change.
  const savedKey = [...saved].sort().join(' ');
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  useEffect(() => {
    if (!dirtyRef.current) setSelected(new Set(savedKey ? savedKey.split(' ') : []));
  }, [savedKey]);

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
        const response = await save.run(environmentId, integration.clientId, toGrants(selected, catalogue));
        if (!response) return;
        setResult(response);
        onChange({ ...integration, grants: response.grants, grantVersion: response.grantVersion });
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
            <strong>Read-only</strong>: for the editor in your own UI. Its tokens can be handed to a browser.
          </li>
          <li>
            <strong>All permissions</strong>: for full use of the Environment API from your back end only.
          </li>
        </ul>
        {writes.length > 0 && (
          <Notice tone="danger" title="Tokens with write permissions must never be sent to a browser / front-end">
            <p>
              With {writes.map((key) => describeScopeKey(key, catalogue)).join(', ')}, this integration's tokens can change your data. A common security mistake is sending such a token to the front end to load the editor: it puts your data at risk and may cost you unwanted renders. Use a separate Read-only integration for the browser.
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

      {canWrite && (
        <div className="save-bar">
          <FormError error={save.error} />
          {result && <SaveResult result={result} catalogue={catalogue} />}
          {dirty && removesScopes && (
            <p className="hint" data-testid="permissions-revokes">
              Saving removes scopes, so every token issued to this integration so far is revoked; applications get new tokens with the new scopes.
            </p>
          )}
          <div className="form-actions">
            <button type="submit" className="button primary" disabled={!dirty || save.pending}>
              {save.pending ? 'Saving…' : 'Save permissions'}
            </button>
            {dirty && (
              <button
                type="button"
                className="button ghost"
                onClick={() => {
                  setSelected(new Set(saved));
                  save.reset();
                }}
              >
                Discard changes
              </button>
            )}
            {dirty && <span className="muted">Unsaved changes</span>}
          </div>
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
  if (added.length + removed.length === 0) {
    return (
      <p className="notice notice-info" role="status" data-testid="permissions-result">
        Nothing changed: the integration already had exactly these scopes.
      </p>
    );
  }
  return (
    <div className="notice notice-success" role="status" data-testid="permissions-result">
      <div>
        <strong className="notice-title">Permissions saved</strong>
        {added.length > 0 && <p>Added: {added.map((key) => describeScopeKey(key, catalogue)).join(', ')}</p>}
        {removed.length > 0 && <p>Removed: {removed.map((key) => describeScopeKey(key, catalogue)).join(', ')}</p>}
        <p>{result.note ?? (removed.length > 0 ? 'The next token request gets the new scopes; every token issued before this change was revoked, since it carries a removed scope.' : 'The next token request gets the new scopes; tokens already issued keep theirs until they expire.')}</p>
      </div>
    </div>
  );
}
