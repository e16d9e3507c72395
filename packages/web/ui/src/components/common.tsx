import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';

/** State of an asynchronous load. */
export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** An error box (the message is text). */
export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {error instanceof ApiError ? `Error ${error.status}: ` : 'Error: '}
      {error.message}
    </div>
  );
}

/** A titled card. */
export function Card({ title, children, actions, class: cls }: { title?: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ''}`}>
      {title !== undefined || actions !== undefined ? (
        <header class="card-head">
          <h2>{title}</h2>
          {actions ? <div class="card-actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

const OK = new Set(['succeeded', 'ok', 'listed', 'unchanged', 'not-modified', 'not_modified', 'notModified']);
const MUTED = new Set(['unknown', 'skipped', 'stopped', 'never']);

/** A run / job status as a coloured badge. */
export function Status({ status }: { status: string | undefined | null }) {
  const s = status ?? 'unknown';
  const kind = OK.has(s) ? 'ok' : s === 'running' ? 'info' : s === 'partial' ? 'warn' : MUTED.has(s) ? 'muted' : 'bad';
  return <span class={`badge badge-${kind}`}>{s}</span>;
}

/** Loading indicator. */
export function Spinner() {
  return <span class="muted">loading…</span>;
}
