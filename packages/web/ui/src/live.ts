// The app-wide live event feed: one EventSource while signed in, the last events kept in memory.
import { useEffect, useState } from 'preact/hooks';
import { openStream, STREAM_TYPES, type StreamEvent } from './api';

const MAX = 300;
let events: StreamEvent[] = [];
let connected = false;
let close: (() => void) | null = null;
const listeners = new Set<() => void>();
const eventListeners = new Set<(e: StreamEvent) => void>();

let version = 0;

function notify(): void {
  version++;
  for (const l of listeners) l();
}

/** Starts the feed (idempotent). */
export function startLive(): void {
  if (close) return;
  close = openStream(
    STREAM_TYPES,
    (e) => {
      events = [e, ...events].slice(0, MAX);
      notify();
      for (const l of eventListeners) l(e);
    },
    (open) => {
      connected = open;
      notify();
    },
  );
}

/** Stops the feed (sign-out). */
export function stopLive(): void {
  close?.();
  close = null;
  connected = false;
  notify();
}

/**
 * Calls `fn` (at most once a second) after events of `types` arrive: views reload their data
 * when a run finishes or a cycle completes.
 */
export function useLiveReload(types: string[], fn: () => void): void {
  const key = types.join(',');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const l = (e: StreamEvent): void => {
      if (!types.includes(e.type) || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        fn();
      }, 1000);
    };
    eventListeners.add(l);
    return () => {
      eventListeners.delete(l);
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, fn]);
}

/** The events received so far (newest first) and whether the stream is connected. */
export function useLive(): { events: StreamEvent[]; connected: boolean } {
  const [, setTick] = useState(0);
  const rendered = version;
  useEffect(() => {
    const l = (): void => setTick((t) => t + 1);
    listeners.add(l);
    // an event that arrived between this render and the subscription: render again
    if (version !== rendered) l();
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { events, connected };
}
