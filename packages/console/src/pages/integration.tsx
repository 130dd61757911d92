import { useEffect, useRef, useState } from 'react';
import { getIntegration } from '../api.ts';
import { useResource, useTitle } from '../hooks.ts';
import { pathTo } from '../router.ts';
import { forgetHandOff, peekHandOff, type RevealedSecret } from '../secret-handoff.ts';
import type { Integration } from '../wire.ts';
import { ErrorState, Icon, Link, Loading, Notice, StatusBadge } from '../components/ui.tsx';
import { GeneralTab } from './integration-general.tsx';
import { PermissionsTab } from './integration-permissions.tsx';

/** The seed's details panel of one integration, with a General and a Permissions tab. */
export function IntegrationPage({ environmentId, clientId, tab }: { environmentId: string; clientId: string; tab: 'general' | 'permissions' }) {
  const integration = useResource(`integration:${environmentId}:${clientId}`, () => getIntegration(environmentId, clientId));
  // A secret just created or rotated is shown once: it lives in this page's state only.
  const [revealed, setRevealed] = useState<RevealedSecret | null>(() => peekHandOff(clientId));
  useEffect(() => forgetHandOff(clientId), [clientId]);
  useTitle(integration.status === 'ready' ? `${integration.data.name} · ${tab === 'general' ? 'General' : 'Permissions'}` : 'Integration');

  const base = pathTo('environments', environmentId, 'integrations', clientId);
  const headingRef = useRef<HTMLHeadingElement>(null);

  if (integration.status === 'loading') return <Loading label="Loading the integration…" />;
  if (integration.status === 'error') return <ErrorState what="the integration" error={integration.error} onRetry={integration.reload} />;
  const data: Integration = integration.data;

  return (
    <article className="integration" aria-labelledby="integration-title">
      <Link to={pathTo('environments', environmentId)} className="back-link">
        <Icon name="back" /> Integrations
      </Link>
      <header className="integration-header">
        <h2 id="integration-title" ref={headingRef} tabIndex={-1}>
          {data.name}
        </h2>
        <StatusBadge disabled={data.disabled} />
      </header>
      {data.description && <p className="muted description">{data.description}</p>}
      <nav className="tabs panel-tabs" aria-label="Integration details">
        <Link to={base} className={`tab ${tab === 'general' ? 'active' : ''}`} current={tab === 'general'}>
          General
        </Link>
        <Link to={`${base}/permissions`} className={`tab ${tab === 'permissions' ? 'active' : ''}`} current={tab === 'permissions'}>
          Permissions
        </Link>
      </nav>
      {tab === 'permissions' && revealed && (
        <Notice tone="warning" title="Your new Client Secret is still waiting on the General tab">
          <p>
            It is shown only once. <Link to={base}>Go back and store it</Link> before you leave this integration.
          </p>
        </Notice>
      )}
      {tab === 'general' ? (
        <GeneralTab environmentId={environmentId} integration={data} onChange={integration.set} revealed={revealed} onReveal={setRevealed} />
      ) : (
        <PermissionsTab environmentId={environmentId} integration={data} onChange={integration.set} onReload={integration.reload} />
      )}
    </article>
  );
}
