import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { getSession, onSessionExpired, signOut } from './api.ts';
import { clearAllDrafts } from './drafts.ts';
import { SessionContext, type SessionContextValue } from './hooks.ts';
import { matchPath, navigate, useLocation } from './router.ts';
import type { SessionInfo } from './wire.ts';
import { Dialog, Icon, Link, Loading } from './components/ui.tsx';
import { SignInForm } from './pages/sign-in.tsx';
import { ChangePasswordForm } from './pages/change-password.tsx';
import { EnvironmentsPage } from './pages/environments.tsx';
import { EnvironmentPage } from './pages/environment.tsx';

type SessionState = { status: 'checking' } | { status: 'signed-out'; message?: string } | { status: 'signed-in'; info: SessionInfo };

/**
 * The console: checks the session, shows sign-in or the signed-in shell. When a request finds the
 * session gone, sign-in opens as a dialog over the screen — nothing below it unmounts, so whatever
 * was being typed is still there afterwards (and drafts also survive a reload, see drafts.ts).
 */
export function App() {
  const [session, setSession] = useState<SessionState>({ status: 'checking' });
  const [expired, setExpired] = useState(false);
  const [epoch, setEpoch] = useState(0);

  useEffect(() => {
    getSession().then(
      (info) => setSession({ status: 'signed-in', info }),
      (error: { status?: number; message?: string }) =>
        setSession({ status: 'signed-out', message: error.status === 401 ? undefined : `Latchkey could not check your session: ${error.message ?? 'unknown error'}` }),
    );
  }, []);
  useEffect(() => onSessionExpired(() => setExpired(true)), []);

  if (session.status === 'checking') {
    return (
      <div className="center-page">
        <Loading label="Loading the console…" />
      </div>
    );
  }
  if (session.status === 'signed-out') {
    return (
      <SignInPage
        message={session.message}
        onSignedIn={(info) => {
          setSession({ status: 'signed-in', info });
          setExpired(false);
        }}
      />
    );
  }
  if (session.info.passwordChangeRequired) {
    return (
      <ChangePasswordPage
        info={session.info}
        onChanged={(info) => setSession({ status: 'signed-in', info })}
        onSignedOut={() => setSession({ status: 'signed-out', message: 'You have signed out.' })}
      />
    );
  }
  return (
    <SignedIn
      info={session.info}
      epoch={epoch}
      onSignedOut={() => setSession({ status: 'signed-out', message: 'You have signed out.' })}
      expiredDialog={
        <Dialog open={expired} title="Your session has ended" onClose={() => undefined} className="narrow" dismissible={false}>
          <div className="dialog-body">
            <p>Sign in again to carry on where you were. What you typed on this page is kept.</p>
            <SignInForm
              onSignedIn={(info) => {
                setSession({ status: 'signed-in', info });
                setExpired(false);
                setEpoch((n) => n + 1);
              }}
            />
          </div>
        </Dialog>
      }
    />
  );
}

/** The centred card with the brand that the signed-out screens share. */
function BrandCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="center-page sign-in-page">
      <div className="card sign-in-card">
        <div className="brand brand-large">
          <LogoMark />
          <span>Latchkey</span>
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function SignInPage({ message, onSignedIn }: { message?: string | undefined; onSignedIn: (info: SessionInfo) => void }) {
  useEffect(() => {
    document.title = 'Sign in · Latchkey';
  }, []);
  return (
    <BrandCard title="Sign in to the console">
      <p className="muted">Manage environments, integrations and their credentials.</p>
      {message && (
        <p className="notice notice-info" role="status">
          {message}
        </p>
      )}
      <SignInForm onSignedIn={onSignedIn} />
    </BrandCard>
  );
}

/** After signing in with a temporary password: choose a new one, or sign out. Nothing else is reachable. */
function ChangePasswordPage({ info, onChanged, onSignedOut }: { info: SessionInfo; onChanged: (info: SessionInfo) => void; onSignedOut: () => void }) {
  return (
    <BrandCard title="Choose your password">
      <ChangePasswordForm
        email={info.admin.email}
        onChanged={onChanged}
        onSignOut={() => {
          void signOut().finally(onSignedOut);
        }}
      />
    </BrandCard>
  );
}

const IntegrationPage = lazy(() => import('./pages/integration.tsx').then((m) => ({ default: m.IntegrationPage })));

function SignedIn({ info, epoch, onSignedOut, expiredDialog }: { info: SessionInfo; epoch: number; onSignedOut: () => void; expiredDialog: ReactNode }) {
  const { path } = useLocation();
  const [toast, setToast] = useState({ text: '', n: 0 });
  const [spoken, setSpoken] = useState('');
  const notify = useCallback((text: string) => setToast((t) => ({ text, n: t.n + 1 })), []);
  const announce = useCallback((text: string) => setSpoken((previous) => (previous === text ? `${text}\u00a0` : text)), []);
  useEffect(() => {
    if (!toast.text) return;
    const timer = setTimeout(() => setToast((t) => ({ ...t, text: '' })), 3000);
    return () => clearTimeout(timer);
  }, [toast]);

  const admin = info.admin;
  const context = useMemo<SessionContextValue>(
    () => ({ admin, epoch, announce, notify, canWrite: (environmentId) => admin.platformAdmin || admin.environments[environmentId] === 'admin' }),
    [admin, epoch, announce, notify],
  );

  // After navigating, move focus to the main region so keyboard and screen-reader users start at the new content.
  const mainRef = useRef<HTMLElement>(null);
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) {
      firstPath.current = '';
      mainRef.current?.focus({ preventScroll: false });
    }
  }, [path]);

  useEffect(() => {
    if (path === '/' || path === '') navigate('/environments', { replace: true });
  }, [path]);

  return (
    <SessionContext.Provider value={context}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/environments" className="brand" ariaLabel="Latchkey — environments">
          <LogoMark />
          <span>Latchkey</span>
        </Link>
        <nav aria-label="Main" className="topnav">
          <Link to="/environments" current={path === '/environments'}>
            Environments
          </Link>
          <a href="/docs" target="_blank" rel="noreferrer">
            API docs <Icon name="external" />
          </a>
        </nav>
        <div className="account">
          <span className="account-email" title={admin.platformAdmin ? 'Platform admin' : 'Environment admin'}>
            {admin.email}
          </span>
          <button
            type="button"
            className="button secondary small"
            onClick={async () => {
              try {
                await signOut();
              } catch {
                // Already signed out on the server: signing out here is what matters.
              }
              clearAllDrafts();
              navigate('/environments', { replace: true });
              onSignedOut();
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="main">
        <Suspense fallback={<Loading label="Loading…" />}>
          <Routes path={path} />
        </Suspense>
      </main>
      <div className={`toast ${toast.text ? 'visible' : ''}`} role="status" aria-live="polite">
        {toast.text}
      </div>
      <div className="sr-only" aria-live="polite">
        {spoken}
      </div>
      {expiredDialog}
    </SessionContext.Provider>
  );
}

function Routes({ path }: { path: string }) {
  if (path === '/' || path === '/environments') return <EnvironmentsPage />;
  const integration = matchPath('/environments/:environmentId/integrations/:clientId', path) ?? matchPath('/environments/:environmentId/integrations/:clientId/:tab', path);
  if (integration) {
    const tab = integration.tab === 'permissions' ? 'permissions' : 'general';
    return (
      <EnvironmentPage environmentId={integration.environmentId!} section="integrations">
        <IntegrationPage environmentId={integration.environmentId!} clientId={integration.clientId!} tab={tab} />
      </EnvironmentPage>
    );
  }
  const environment = matchPath('/environments/:environmentId', path) ?? matchPath('/environments/:environmentId/:section', path);
  if (environment && ['integrations', 'audit', 'settings', undefined].includes(environment.section)) {
    const section = (environment.section ?? 'integrations') as 'integrations' | 'audit' | 'settings';
    return <EnvironmentPage environmentId={environment.environmentId!} section={section} />;
  }
  return (
    <div className="state empty-state">
      <h1>Page not found</h1>
      <p>There is nothing at {path}.</p>
      <Link to="/environments">Go to environments</Link>
    </div>
  );
}

/** The Latchkey mark: a key in a rounded square. */
export function LogoMark() {
  return (
    <svg className="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="currentColor" />
      <circle cx="12" cy="16" r="5" fill="none" stroke="#fff" strokeWidth="2.5" />
      <path d="M17 16h10m-4 0v4m3-4v3" stroke="#fff" strokeWidth="2.5" fill="none" strokeLinecap="round" />
    </svg>
  );
}
