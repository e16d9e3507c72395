// HTTP access to the TIP API. Every URL is relative to the document base (`./api/...`), so the UI
// works under any prefix the server is mounted at.

/** What GET /api/session returns. */
export interface Session {
  authenticated: boolean;
  user: string | null;
  scopes: string[];
  csrfToken: string;
  authRequired: boolean;
}

/** One entry of the UI manifest's pages. */
export interface ManifestPage {
  id: string;
  plugin: string;
  title: string;
  path: string;
  moduleUrl: string;
  scope: string;
  order: number;
}

/** GET /api/ui/manifest. */
export interface Manifest {
  version: string;
  /** The event types the server records and streams (absent from servers before 0.1.1). */
  streamTypes?: string[];
  plugins: { name: string; version: string; prefix: string }[];
  pages: ManifestPage[];
}

/** An API error: status and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onUnauthorized: (() => void) | null = null;

/** Remembers the CSRF token sent with every write. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when a request answers 401 (the session expired): the app shows the login page. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** Absolute URL of an API path (`blacklist/sources` or `/blacklist/sources` → `<base>api/blacklist/sources`). */
export function apiUrl(path: string): string {
  return new URL('api/' + path.replace(/^\/+/, ''), document.baseURI).href;
}

async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { message?: unknown; error?: unknown };
      if (typeof body.message === 'string') message = body.message;
      else if (typeof body.error === 'string') message = body.error;
    } catch {
      if (text) message = text.slice(0, 300);
    }
  } catch {
    /* keep the status line */
  }
  return new ApiError(res.status, message);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['x-csrf-token'] = csrfToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
  }
  const res = await fetch(apiUrl(path), {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !path.replace(/^\/+/, '').startsWith('session')) onUnauthorized?.();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

/** GET an API path (relative to /api). */
export function get<T = unknown>(path: string): Promise<T> {
  return request<T>('GET', path);
}

/** POST JSON to an API path (relative to /api), with the CSRF token. */
export function post<T = unknown>(path: string, body: unknown = {}): Promise<T> {
  return request<T>('POST', path, body);
}

/** DELETE an API path (relative to /api), with the CSRF token. */
export function del<T = unknown>(path: string): Promise<T> {
  return request<T>('DELETE', path);
}

/** Builds a query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** One event of the live stream. */
export interface StreamEvent {
  seq: number;
  type: string;
  at: string;
  data: unknown;
}

/**
 * Opens the SSE stream (`/api/web/stream`) for `types` (names or `prefix.*`; empty: every type
 * the server records) and calls `onEvent` for each event (once
 * per seq). EventSource reconnects by itself after a dropped connection (resuming with
 * Last-Event-ID); when the server refuses it (an error status, e.g. during a restart) it gives up,
 * so then this reopens it with back-off (1 s doubling to 30 s), resuming with `?lastEventId=`.
 * `after`: the seq of the newest event the caller has already (from `GET /api/web/events`); the
 * stream starts right after it, so nothing between that read and the stream is lost.
 * Returns close().
 */
export function openStream(types: string[], onEvent: (e: StreamEvent) => void, onState?: (open: boolean) => void, after?: number): () => void {
  const seen = new Set<number>();
  let last = after ?? 0;
  let src: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = 1000;
  let closed = false;
  const handle = (msg: MessageEvent): void => {
    let parsed: StreamEvent;
    try {
      parsed = JSON.parse(String(msg.data)) as StreamEvent;
    } catch {
      return;
    }
    if (typeof parsed.seq === 'number') {
      if (seen.has(parsed.seq)) return;
      seen.add(parsed.seq);
      if (seen.size > 5000) seen.clear();
      last = Math.max(last, parsed.seq);
    }
    onEvent(parsed);
  };
  const open = (): void => {
    // plain=1: every event arrives as a "message" (its type is in the data), so type prefixes
    // (`acme.*`) and an empty list (everything the server records) need no named listeners
    const es = new EventSource(apiUrl('web/stream' + query({ types: types.join(','), lastEventId: last || undefined, plain: 1 })), { withCredentials: true });
    src = es;
    es.onmessage = handle;
    es.onopen = () => {
      delay = 1000;
      onState?.(true);
    };
    es.onerror = () => {
      onState?.(false);
      if (es.readyState === EventSource.CLOSED && !closed) {
        es.close();
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 30_000);
      }
    };
  };
  open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    src?.close();
  };
}
