import { useEffect, useRef, useState } from 'preact/hooks';
import { apiUrl, get, openStream, post, type ManifestPage } from '../api';
import { navigate } from '../router';

/** What a plugin page module's `mount` receives (contract.md). */
export interface PageContext {
  api: { get(path: string): Promise<unknown>; post(path: string, body?: unknown): Promise<unknown>; url(path: string): string };
  basePath: string;
  navigate(hash: string): void;
  stream(types: string[], onEvent: (e: unknown) => void): () => void;
}

interface PageModule {
  mount(el: HTMLElement, ctx: PageContext): (() => void) | void;
}

/** Builds the context handed to plugin pages. */
export function pageContext(): PageContext {
  return {
    api: { get: (p) => get(p), post: (p, b) => post(p, b ?? {}), url: (p) => apiUrl(p) },
    basePath: new URL('.', document.baseURI).pathname,
    navigate,
    stream: (types, onEvent) => openStream(types, onEvent),
  };
}

/** A plugin page: imports its module (`moduleUrl`, resolved against the document base) and mounts it. */
export function PluginPage({ page }: { page: ManifestPage }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let unmount: (() => void) | void;
    let live = true;
    setError('');
    const url = new URL(page.moduleUrl, document.baseURI);
    if (url.origin !== location.origin) {
      setError(`page module ${page.moduleUrl} is not on this server`);
      return;
    }
    import(/* @vite-ignore */ url.href).then(
      (mod: PageModule) => {
        if (!live) return;
        if (typeof mod.mount !== 'function') {
          setError(`page module ${page.moduleUrl} exports no mount()`);
          return;
        }
        try {
          unmount = mod.mount(el, pageContext());
        } catch (err) {
          setError(`page ${page.id} failed: ${(err as Error).message}`);
        }
      },
      (err: Error) => live && setError(`could not load page ${page.id}: ${err.message}`),
    );
    return () => {
      live = false;
      try {
        unmount?.();
      } catch {
        /* a page's own cleanup error */
      }
      el.replaceChildren();
    };
  }, [page.id, page.moduleUrl]);
  return (
    <section class="card plugin-page">
      <header class="card-head">
        <h2>{page.title}</h2>
        <span class="muted">{page.plugin}</span>
      </header>
      {error ? (
        <div class="error" role="alert">
          {error}
        </div>
      ) : null}
      <div ref={ref} class="plugin-mount" data-page={page.id} />
    </section>
  );
}
