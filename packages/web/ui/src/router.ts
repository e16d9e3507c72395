// Hash routing: `#/search?q=…`, `#/indicator/<value>`, … (works under any server prefix).
import { useEffect, useState } from 'preact/hooks';

/** The current route: path segments (decoded) and query parameters. */
export interface Route {
  path: string[];
  params: URLSearchParams;
}

/** Parses `location.hash`. */
export function parseHash(hash: string = location.hash): Route {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const pathPart = q < 0 ? h : h.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const path = pathPart
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { path, params };
}

/** Builds a hash from path segments (encoded) and parameters. */
export function href(path: string[], params?: Record<string, string | undefined>): string {
  const p = path.map((s) => encodeURIComponent(s)).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return `#/${p}${qs ? `?${qs}` : ''}`;
}

/** Navigates to a hash. */
export function navigate(hash: string): void {
  location.hash = hash.startsWith('#') ? hash : `#${hash.startsWith('/') ? '' : '/'}${hash}`;
}

/** The current route, updated on hashchange. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash());
  useEffect(() => {
    const on = (): void => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
