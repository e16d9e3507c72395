// The app-wide live event feed: one EventSource while signed in, the last events kept in memory.
import { useEffect, useState } from 'preact/hooks';
import { get, openStream, query, type StreamEvent } from './api';

const MAX = 300;
/** How many recent events the feed starts with (from the event log), so panels are not empty on arrival. */
const BACKFILL = 30;
let events: StreamEvent[] = [];
let connected = false;
let close: (() => void) | null = null;
const listeners = new Set<() => void>();
const eventListeners = new Set<(e: StreamEvent) => void>();

let version = 0;
/** The types the feed follows (the manifest's `streamTypes`; empty: whatever the server records). */
let followed: string[] = [];

function notify(): void {
  version++;
  for (const l of listeners) l();
}

/**
 * Starts the feed (idempotent) for `types` (the manifest's `streamTypes`): the last
 * {@link BACKFILL} logged events first (shown, but no reloads: views loaded after them), then the
 * live stream from right after the newest of them.
 */
export function startLive(types: string[] = []): void {
  if (close) return;
  followed = types;
  let stopped = false;
  let closeStream: (() => void) | null = null;
  close = () => {
    stopped = true;
    closeStream?.();
  };
  const live = (e: StreamEvent): void => {
    events = [e, ...events].slice(0, MAX);
    notify();
    for (const l of eventListeners) l(e);
  };
  void get<{ events: StreamEvent[] }>('web/events' + query({ types: followed.join(','), limit: BACKFILL }))
    .then((page) => page.events.filter((e) => typeof e.seq === 'number').sort((a, b) => b.seq - a.seq))
    // an older server, or no read scope for the log: start with the live stream alone
    .catch(() => [] as StreamEvent[])
    .then((recent) => {
      if (stopped) return;
      const have = new Set(events.map((e) => e.seq));
      const fresh = recent.filter((e) => !have.has(e.seq));
      if (fresh.length > 0) {
        events = [...events, ...fresh].sort((a, b) => b.seq - a.seq).slice(0, MAX);
        notify();
      }
      closeStream = openStream(
        followed,
        live,
        (open) => {
          connected = open;
          notify();
        },
        recent[0]?.seq,
      );
    });
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

/** The event types the feed follows (empty before the manifest, or from an older server). */
export function liveTypes(): readonly string[] {
  return followed;
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
