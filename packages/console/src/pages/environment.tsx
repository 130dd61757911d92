import { lazy, type ReactNode } from 'react';
import { getEnvironment } from '../api.ts';
import { useResource, useSession } from '../hooks.ts';
import { pathTo } from '../router.ts';
import { ErrorState, Icon, Link, Loading } from '../components/ui.tsx';
import { IntegrationsPage } from './integrations.tsx';
import { EnvironmentSettingsPage } from './environment-settings.tsx';

const AuditPage = lazy(() => import('./audit.tsx').then((m) => ({ default: m.AuditPage })));

/** What the pencil icon opens: one environment, with its Integrations, Audit log and Settings. */
export function EnvironmentPage({ environmentId, section, children }: { environmentId: string; section: 'integrations' | 'audit' | 'settings'; children?: ReactNode }) {
  const session = useSession();
  const environment = useResource(`environment:${environmentId}`, () => getEnvironment(environmentId));
  const base = pathTo('environments', environmentId);
  const role = session.admin.platformAdmin ? null : session.admin.environments[environmentId];

  if (environment.status === 'loading') return <Loading label="Loading the environment…" />;
  if (environment.status === 'error') return <ErrorState what={`environment ${environmentId}`} error={environment.error} onRetry={environment.reload} />;
  const env = environment.data;
  const tabs = [
    { id: 'integrations', label: 'Integrations', to: base },
    { id: 'audit', label: 'Audit log', to: `${base}/audit` },
    { id: 'settings', label: 'Settings', to: `${base}/settings` },
  ] as const;

  return (
    <div className="environment">
      <div className="environment-header">
        <Link to="/environments" className="back-link">
          <Icon name="back" /> Environments
        </Link>
        <div className="environment-title">
          <h1 className="environment-name">{env.name}</h1>
          <code className="muted">{env.id}</code>
          {role === 'viewer' && <span className="badge badge-muted">Viewer: read only</span>}
        </div>
        <nav className="tabs" aria-label={`Environment ${env.name}`}>
          {tabs.map((tab) => (
            <Link key={tab.id} to={tab.to} className={`tab ${section === tab.id ? 'active' : ''}`} current={section === tab.id && !children}>
              {tab.label}
            </Link>
          ))}
        </nav>
      </div>
      {children ??
        (section === 'integrations' ? (
          <IntegrationsPage environment={env} />
        ) : section === 'audit' ? (
          <AuditPage environment={env} />
        ) : (
          <EnvironmentSettingsPage environment={env} onChanged={environment.set} />
        ))}
    </div>
  );
}
