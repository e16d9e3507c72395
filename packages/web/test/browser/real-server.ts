// The real deployment the browser tests run against: a TIP app with the blacklist plugin and
// @tip/web on a throwaway SQLite database, fed by a local HTTP feed server whose feeds change
// between collection cycles, served by createWebServer with a signed-in user. Nothing is canned:
// every figure the UI shows was computed by the plugin from the feeds below.
import { executeRaw, type TipEvents } from '@tip/core';
import { serveFeeds, startTestTip, type FeedServer, type TestTip } from '@tip/core/testing';
import blacklist from '@tip/plugin-blacklist';
import webPlugin, { createWebServer, WebToken, type WebServer } from '../../src/index.js';
import { acmePlugin } from '../helpers.js';

/** A source title with a script payload (titles come from configuration and third-party catalogs). */
export const TITLE_SCRIPT = 'Community reports <script>window.__xss=1</script>';
/** A source title with an image payload. */
export const TITLE_IMG = 'Scanners <img src=x onerror=window.__xss=1>';
/**
 * Feed entries carrying payloads. URLs reach the store in canonical (WHATWG) form: `<`, `>` and
 * `"` come out percent-encoded, quotes and `=` stay, so the second one keeps an attribute
 * injection (`'onmouseover='…`) that a UI building HTML from strings would fall for.
 */
export const XSS_ENTRIES = ['http://bad-cdn.top/<script>window.__xss=1</script>', "http://cdn-update-check.top/'onmouseover='window.__xss=1'"];
/** {@link XSS_ENTRIES} as the plugin stores and shows them. */
export const XSS_VALUES = ['http://bad-cdn.top/%3Cscript%3Ewindow.__xss=1%3C/script%3E', "http://cdn-update-check.top/'onmouseover='window.__xss=1'"];

const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

/**
 * The feeds of each cycle, by path. Cycle 1 → 2: `level1` drops 185.220.101.1-10 and adds
 * 185.220.101.200-210 (listings age and disappear); from cycle 3 on it also lists 185.220.101.220.
 * `community` overlaps `level1` on 185.220.101.41-80 and `scanners` on 185.220.101.100-110 (so
 * weights and the heat map differ).
 */
export function feedLines(cycle: number): Record<string, string[]> {
  const level1 =
    cycle === 1
      ? [...range('185.220.101.', 1, 80), '91.240.118.0/25']
      : [...range('185.220.101.', 11, 80), ...range('185.220.101.', 200, 210), ...(cycle >= 3 ? ['185.220.101.220'] : []), '91.240.118.0/25'];
  return {
    '/level1.netset': ['# Level 1 (test)', ...level1],
    '/community.txt': ['# community reports', ...range('185.220.101.', 41, 120), ...XSS_ENTRIES, 'cdn-update-check.top'],
    '/scanners.txt': [...range('45.155.205.', 1, 30), ...range('185.220.101.', 100, 110)],
  };
}

/** Options of {@link startRealServer}. */
export interface RealOptions {
  /** Create a user that must sign in (else no credentials: loopback only, no sign-in). Default true. */
  auth?: boolean;
  /** The user's scope. Default `admin`. */
  scope?: 'admin' | 'read';
  /** Mount under this prefix (e.g. `/tip`). Default ''. */
  prefix?: string;
}

/** A running deployment. */
export interface RealServer {
  /** Base URL of the UI, ending in '/'. */
  readonly url: string;
  readonly tip: TestTip;
  readonly feeds: FeedServer;
  readonly web: WebServer;
  /** The signed-in user, or null without auth. */
  readonly credentials: { username: string; password: string } | null;
  /** An admin API token (`Authorization: Bearer …`), for reading what the UI should show. */
  readonly token: string;
  /** GETs an API path (below `/api/`) with the admin token; throws on a non-2xx answer. */
  api<T>(path: string): Promise<T>;
  /** Serves the feeds of `cycle` (see {@link feedLines}) and runs one collection cycle to its end. */
  cycle(cycle: number): Promise<void>;
  /** Ends every UI session (as their expiry would). */
  expireSessions(): Promise<void>;
  /** Emits an event on the app's bus (the stream recorder logs it like any other). */
  emit(type: string, data: unknown): Promise<void>;
  close(): Promise<void>;
}

const USER = 'analyst';
const PASSWORD = 'correct horse battery staple';

/** Starts the deployment and collects two cycles (so charts, history and weights have data). */
export async function startRealServer(options: RealOptions = {}): Promise<RealServer> {
  const feeds = await serveFeeds({ '/broken.txt': { body: 'upstream down\n', status: 503 } });
  const setCycle = (cycle: number) => {
    for (const [path, lines] of Object.entries(feedLines(cycle))) feeds.set(path, { body: `${lines.join('\n')}\n`, headers: { etag: `"c${cycle}"` } });
  };
  let tip: TestTip | undefined;
  try {
    tip = await startTestTip({
      clock: 'system',
      plugins: [blacklist(), webPlugin(), acmePlugin()],
      config: {
        blacklist: {
          interval: '1d', // cycles run when the test says so
          feeds: [
            { id: 'level1', title: 'Level 1 reputation', url: feeds.url('/level1.netset'), format: 'plain', category: 'reputation' },
            { id: 'community', title: TITLE_SCRIPT, url: feeds.url('/community.txt'), format: 'plain', category: 'abuse' },
            { id: 'scanners', title: TITLE_IMG, url: feeds.url('/scanners.txt'), format: 'plain', category: 'scanner' },
            { id: 'broken', title: 'Broken upstream', url: feeds.url('/broken.txt'), format: 'plain', category: 'abuse' },
          ],
        },
      },
      start: { schedule: false },
    });
    const app = tip.app;
    const auth = app.get(WebToken);
    const admin = await auth.createToken({ name: 'browser-tests', scope: 'admin' });
    const credentials = options.auth === false ? null : { username: USER, password: PASSWORD };
    if (credentials) await auth.createUser({ name: USER, scope: options.scope ?? 'admin', password: PASSWORD });
    else await auth.revokeToken(admin.id); // no credential at all: the loopback-only, no-sign-in mode
    const web = await createWebServer(app, { port: 0, ...(options.prefix ? { prefix: options.prefix } : {}) });
    const base = (await web.listen()).replace(/\/?$/, '/');

    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${base}api/${path}`, credentials ? { headers: { authorization: `Bearer ${admin.token}` } } : {});
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const cycle = async (n: number) => {
      setCycle(n);
      const completed = app.events.next('blacklist.cycle.completed');
      await app.scheduler.trigger('blacklist');
      await completed;
    };
    await cycle(1);
    await cycle(2);
    const started = tip;
    return {
      url: base,
      tip: started,
      feeds,
      web,
      credentials,
      token: admin.token,
      api,
      cycle,
      expireSessions: async () => void (await executeRaw(app.em(), 'delete from web_session')),
      emit: (type, data) => app.events.emit(type as keyof TipEvents, data as never),
      async close() {
        await web.close();
        await started.close();
        await feeds.close();
      },
    };
  } catch (err) {
    await tip?.close();
    await feeds.close();
    throw err;
  }
}
