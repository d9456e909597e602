/**
 * The console's shell: finds out whether a session exists, then routes by URL to one page. A 401 from
 * any call (session expired or signed out elsewhere) returns to sign-in, remembering where the user was.
 */
import { render, type ComponentChildren } from 'preact';
import { useEffect, useErrorBoundary, useState } from 'preact/hooks';
import { api, setExpiredHandler, type SessionInfo } from './api.js';
import { Bindings } from './pages/bindings.js';
import { Explain } from './pages/explain.js';
import { Robots } from './pages/robots.js';
import { Roles } from './pages/roles.js';
import { SignIn } from './pages/sign-in.js';
import { Tokens } from './pages/tokens.js';
import { BASE, navigate, onLinkClick, safeNext, useLocation } from './router.js';
import './style.css';

function signInUrl(expired: boolean): string {
  const here = location.pathname + location.search;
  return `${BASE}/sign-in?next=${encodeURIComponent(here)}${expired ? '&expired=1' : ''}`;
}

function Nav({ session, path, onSignOut }: { session: SessionInfo; path: string; onSignOut: () => void }) {
  // API tokens are the admin's to manage (the server always has them): a scoped token is not offered the page.
  const tokens = session.principal.kind === 'admin';
  const pages = ['Roles', 'Bindings', 'Robots', 'Explain', ...(tokens ? ['Tokens'] : [])];
  return (
    <header>
      <nav aria-label="Console">
        {pages.map((p) => {
          const href = `${BASE}/${p.toLowerCase()}`;
          return (
            <a key={p} href={href} onClick={onLinkClick} aria-current={path === href ? 'page' : undefined}>
              {p}
            </a>
          );
        })}
      </nav>
      <span class="who">Signed in as {session.principal.name}</span>
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </header>
  );
}

/** A page that throws while rendering shows what happened instead of a blank page. */
function Guard({ children }: { children: ComponentChildren }) {
  const [error, reset] = useErrorBoundary();
  if (!error) return <>{children}</>;
  return (
    <div role="alert">
      <p>This page failed: {(error as Error).message ?? String(error)}</p>
      <button type="button" onClick={reset}>
        Try again
      </button>
    </div>
  );
}

function Page({ url, session }: { url: URL; session: SessionInfo }) {
  switch (url.pathname) {
    case `${BASE}/bindings`:
      return <Bindings url={url} />;
    case `${BASE}/robots`:
      return <Robots registryHost={session.features.registry_host} />;
    case `${BASE}/explain`:
      return <Explain services={session.features.services} />;
    case `${BASE}/tokens`:
      return <Tokens admin={session.principal.kind === 'admin'} />;
    default:
      return <Roles />;
  }
}

function App() {
  const url = useLocation();
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    setExpiredHandler(() => {
      setSession(null);
      navigate(signInUrl(true), true);
    });
    api.session().then(setSession, () => {
      setSession(null);
      if (url.pathname !== `${BASE}/sign-in`) navigate(signInUrl(false), true);
    });
  }, []);
  useEffect(() => {
    const h1 = document.querySelector('h1');
    document.title = `${h1?.textContent ?? 'Console'} · tollgate`;
  });
  if (session === undefined) return <p>Loading…</p>;
  if (session === null || url.pathname === `${BASE}/sign-in`) {
    return (
      <SignIn
        expired={url.searchParams.has('expired')}
        onSignedIn={(s) => {
          setSession(s);
          navigate(safeNext(url.searchParams.get('next')), true);
        }}
      />
    );
  }
  const signOut = async () => {
    await api.signOut().catch(() => undefined);
    setSession(null);
    navigate(`${BASE}/sign-in`);
  };
  return (
    <>
      <Nav session={session} path={url.pathname} onSignOut={() => void signOut()} />
      <main>
        <Guard>
          <Page url={url} session={session} />
        </Guard>
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
