// The TIP demo plugin (TypeScript, run directly by Node's type stripping). It shows the whole plugin contract:
// - init/stop: starts and stops a local feed server (./feed-server.ts) on 127.0.0.1
// - a source kind "demo.lines" that validates and counts the records of line-based feeds
// - one source per sample feed, plus a flaky mirror that fails every 3rd fetch (503)
// - group job "demo.feeds" (every 20s) fanning out one child per source
// - "demo.report", run after each demo.feeds cycle, and a cron job "demo.heartbeat" every minute
// - an event listener printing one progress line per blacklist cycle (+added −removed)
import { isIPv4 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, cron, defineSource, defineSourceKind, definePlugin, every, type GroupSummary } from '@tip/core';
import { BlacklistToken } from '@tip/plugin-blacklist'; // its import also declares the blacklist.* events
import { startFeedServer, type FeedServer } from './feed-server.ts';

const FEEDS_DIR = fileURLToPath(new URL('./feeds/', import.meta.url));
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Record formats of the sample feeds. */
export type RecordFormat = 'ip' | 'domain' | 'csv';

/** Options of {@link demoPlugin}. */
export interface DemoPluginOptions {
  /** Cycle interval of the `demo.feeds` group job (default `20s`). */
  interval?: string;
  /** The flaky mirror answers 503 on every `failEvery`-th request (default 3, 0 = never). */
  failEvery?: number;
}

/** Is `line` a valid record of `format` ("ip", "domain" or "csv")? */
export function isValidRecord(format: unknown, line: string): boolean {
  if (format === 'ip') {
    const [addr = '', prefix, ...rest] = (line.split(';')[0] ?? '').trim().split('/');
    const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= 32);
    return rest.length === 0 && isIPv4(addr) && okPrefix;
  }
  if (format === 'domain') return DOMAIN.test(line);
  if (format === 'csv') {
    const cells = line.split(',');
    if (cells.length !== 4 || Number.isNaN(Date.parse(cells[0] ?? ''))) return false;
    try {
      return ['http:', 'https:'].includes(new URL(cells[1] ?? '').protocol);
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * The demo plugin factory.
 * @param options - cycle interval (default 20s); the flaky mirror answers 503 on every
 *   `failEvery`-th request (default 3, 0 = never)
 */
export default function demoPlugin(options: DemoPluginOptions = {}) {
  const interval = options.interval ?? '20s';
  const failEvery = options.failEvery ?? 3;

  return definePlugin({
    name: 'tip-demo',
    version: '0.1.0',
    core: '^0.2.0',
    register(ctx) {
      // Everything below belongs to one app (register runs once per app).
      /** Set in init: the local feed server. */
      let server: FeedServer | undefined;
      const lastCounts = new Map<string, { records: number; invalid: number }>();
      let cycles = 0;
      const feed = (id: string, title: string, path: string, format: RecordFormat) =>
        defineSource<string>({
          id,
          kind: 'demo.lines',
          title,
          timeout: '10s',
          meta: { path, format },
          async *fetch(run) {
            // The server's URL is only known once init() started it, so it is read here, lazily.
            if (!server) throw new Error('demo: the feed server is not running');
            const text = await run.http.text(`${server.url}${path}`);
            let lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
            if (format === 'csv') lines = lines.slice(1); // header
            for (let i = 0; i < lines.length; i += 10) yield lines.slice(i, i + 10);
          },
        });
      ctx.sourceKinds.add(
        defineSourceKind<string>({
          kind: 'demo.lines',
          async ingest({ source, run, batches }) {
            let records = 0;
            let invalid = 0;
            for await (const batch of batches) {
              for (const line of batch) isValidRecord(source.meta?.format, line) ? records++ : invalid++;
            }
            // Persisted per-source state: committed only because ingestion succeeded.
            run.state.set('lastCounts', { records, invalid, at: new Date().toISOString() });
            lastCounts.set(source.id, { records, invalid });
            return { counts: { records, invalid } };
          },
        }),
      );
      ctx.sources.add(feed('drop', 'Demo DROP list (IP networks)', '/feeds/drop.txt', 'ip'));
      ctx.sources.add(feed('domains', 'Demo malware domains', '/feeds/domains.txt', 'domain'));
      ctx.sources.add(feed('phishing', 'Demo phishing URLs (CSV, grows every minute)', '/feeds/phishing.csv', 'csv'));
      ctx.sources.add(feed('drop-mirror', `Flaky DROP mirror (503 on every ${failEvery}th fetch)`, '/mirror/drop.txt', 'ip'));

      ctx.jobs.add({
        id: 'demo.feeds',
        description: 'fetch every demo feed: one child job per source',
        trigger: every(interval),
        children: () => ctx.sourceRunner.list(['demo.lines']).map((source) => ({ source: source.id, id: `demo.feeds/${source.id}` })),
        onComplete: () => {
          cycles++;
        },
      });
      ctx.jobs.add({
        id: 'demo.report',
        description: 'summarises each demo.feeds cycle',
        trigger: after('job.group.completed', (s) => s.jobId === 'demo.feeds'),
        run(run) {
          const summary = run.payload as GroupSummary;
          const records = [...lastCounts.values()].reduce((n, c) => n + c.records, 0);
          const failed = summary.children.filter((c) => c.status !== 'succeeded').map((c) => `${c.jobId} (${c.error})`);
          const unchanged = summary.children.filter((c) => c.counts?.notModified).length;
          run.log.info(
            { cycle: cycles },
            `cycle ${cycles}: ${summary.succeeded}/${summary.total} sources ok, ${unchanged} unchanged (304), ${records} records known` +
              (failed.length ? `; failed: ${failed.join(', ')}` : ''),
          );
          return { counts: { sources: summary.total, failed: summary.failed, records } };
        },
      });
      // Progress: one line per blacklist cycle. Events are typed: the blacklist plugin declares them.
      let blacklistCycles = 0;
      let blacklist: { sources(): Promise<Array<{ listed: number }>> } | undefined; // set in init
      ctx.events.on('blacklist.cycle.completed', async (e) => {
        blacklistCycles++;
        // the blacklist plugin's service, through its exported token (no internals imported)
        const sources = (await blacklist?.sources().catch(() => undefined)) ?? [];
        const listed = sources.reduce((n, s) => n + s.listed, 0);
        ctx.log.info(
          { cycleId: e.cycleId, added: e.added, removed: e.removed, listed },
          `blacklist cycle ${blacklistCycles}: +${e.added} −${e.removed} listings, ${e.succeeded}/${e.sources} feeds ok` +
            (e.failed ? `, ${e.failed} failed` : '') +
            `; ${listed} listings over ${sources.length} sources`,
        );
      });
      ctx.jobs.add({
        id: 'demo.heartbeat',
        description: 'logs that the demo is alive, every minute',
        trigger: cron('* * * * *'),
        run(run) {
          run.log.info(`heartbeat: ${cycles} feed cycle(s) so far, ${lastCounts.size} source(s) fetched`);
          return { counts: { cycles } };
        },
      });
      return {
        async init(ictx) {
          if (ictx.mode === 'read') return; // read-only commands fetch nothing
          try {
            blacklist = ictx.get(BlacklistToken);
          } catch {
            blacklist = undefined; // the blacklist plugin is not in this app
          }
          server = await startFeedServer({ dir: FEEDS_DIR, failEvery, log: ictx.log });
          ictx.log.info({ url: server.url }, `sample feeds served at ${server.url}/feeds/`);
        },
        async stop() {
          await server?.close();
          server = undefined;
        },
      };
    },
  });
}
