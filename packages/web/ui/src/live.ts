// The app-wide live event feed: one EventSource while signed in, the last events kept in memory.
import { useEffect, useState } from 'preact/hooks';
import { openStream, STREAM_TYPES, type StreamEvent } from './api';

const MAX = 300;
let events: StreamEvent[] = [];
let connected = false;
let close: (() => void) | null = null;
const listeners = new Set<() => void>();

function notify(): void {
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

/** The events received so far (newest first) and whether the stream is connected. */
export function useLive(): { events: StreamEvent[]; connected: boolean } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = (): void => setTick((t) => t + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { events, connected };
}
