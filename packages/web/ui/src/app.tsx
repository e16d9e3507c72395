import { useCallback, useEffect, useState } from 'preact/hooks';
import { del, get, setCsrfToken, setUnauthorizedHandler, type Manifest, type Session } from './api';
import { ErrorBox } from './components/common';
import { startLive, stopLive } from './live';
import { Dashboard } from './pages/Dashboard';
import { EventsPage } from './pages/Events';
import { Indicator } from './pages/Indicator';
import { Jobs } from './pages/Jobs';
import { Login } from './pages/Login';
import { PluginPage } from './pages/PluginPage';
import { Search } from './pages/Search';
import { SourceDetail } from './pages/SourceDetail';
import { Sources } from './pages/Sources';
import { href, navigate, useRoute } from './router';

const BLACKLIST = '@tip/plugin-blacklist';

function NotFound() {
  return (
    <section class="card">
      <h2>Not found</h2>
      <p>
        <a href="#/">Back to the dashboard</a>
      </p>
    </section>
  );
}

/** The application: session gate, navigation, routed pages. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [manifest, setManifest] = useState<Manifest | null>(null);
  const [error, setError] = useState<Error | undefined>();
  const route = useRoute();
  const [quick, setQuick] = useState('');

  const refresh = useCallback(async () => {
    try {
      const s = await get<Session>('session');
      setCsrfToken(s.csrfToken ?? '');
      setSession(s);
      setError(undefined);
      if (s.authRequired && !s.authenticated) {
        stopLive();
        setManifest(null);
        return;
      }
      const m = await get<Manifest>('ui/manifest');
      setManifest(m);
      startLive(m.streamTypes ?? []);
    } catch (err) {
      setError(err as Error);
    }
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => void refresh());
    void refresh();
  }, [refresh]);

  if (error && !session) {
    return (
      <main class="content">
        <ErrorBox error={error} />
      </main>
    );
  }
  if (!session) return <main class="content muted">loading…</main>;
  if (session.authRequired && !session.authenticated) return <Login onLogin={() => void refresh()} />;

  const admin = session.scopes.includes('admin');
  const blacklist = !!manifest?.plugins.some((p) => p.name === BLACKLIST);
  const pages = (manifest?.pages ?? []).filter((p) => p.scope !== 'admin' || admin).sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
  const [head, ...rest] = route.path;
  const arg = rest.join('/');

  let body;
  if (head === undefined || head === 'dashboard') body = <Dashboard blacklist={blacklist} />;
  else if (head === 'jobs') body = <Jobs admin={admin} />;
  else if (head === 'events') body = <EventsPage />;
  else if (head === 'page') {
    const page = pages.find((p) => p.id === arg);
    body = page ? <PluginPage page={page} /> : manifest ? <NotFound /> : null;
  } else if (blacklist && head === 'search') body = <Search route={route} />;
  else if (blacklist && head === 'indicator' && arg) body = <Indicator value={arg} />;
  else if (blacklist && head === 'sources') body = <Sources />;
  else if (blacklist && head === 'source' && arg) body = <SourceDetail id={arg} />;
  else body = manifest ? <NotFound /> : null;

  const nav = (h: string, label: string, active: boolean) => (
    <a href={h} class={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">
          TIP
        </a>
        <nav class="nav">
          {nav('#/', 'Dashboard', head === undefined || head === 'dashboard')}
          {blacklist ? nav(href(['search']), 'Search', head === 'search' || head === 'indicator') : null}
          {blacklist ? nav(href(['sources']), 'Sources', head === 'sources' || head === 'source') : null}
          {nav(href(['jobs']), 'Jobs', head === 'jobs')}
          {nav(href(['events']), 'Events', head === 'events')}
          {pages.map((p) => nav(href(['page', p.id]), p.title, head === 'page' && arg === p.id))}
        </nav>
        {blacklist ? (
          <form
            class="quick"
            onSubmit={(e) => {
              e.preventDefault();
              navigate(href(['search'], { q: quick.trim() }));
            }}
          >
            <input type="search" placeholder="Look up an indicator" aria-label="quick search" value={quick} onInput={(e) => setQuick((e.currentTarget as HTMLInputElement).value)} />
          </form>
        ) : null}
        <div class="user">
          {session.authenticated ? (
            <>
              <span class="muted">{session.user ?? 'token'}</span>
              {admin ? <span class="badge badge-info">admin</span> : null}
              <button
                type="button"
                class="btn-small"
                onClick={async () => {
                  try {
                    await del('session');
                  } finally {
                    void refresh();
                  }
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <span class="muted">{session.authRequired ? '' : 'local access'}</span>
          )}
        </div>
      </header>
      <main class="content">
        <ErrorBox error={error} />
        {body}
      </main>
    </>
  );
}
