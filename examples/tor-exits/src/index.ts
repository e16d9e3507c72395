/**
 * `@acme/tip-plugin-tor-exits`: a complete third-party TIP plugin, written only against
 * `@tip/core`'s public API. It collects Tor exit relay lists (one address per line) into its own
 * table, re-collects them every `interval`, serves an exit-check endpoint for mail servers as a
 * long-running service, and contributes API routes.
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { once } from 'node:events';
import { z } from 'zod';
import {
  defineErrorCodes,
  definePlugin,
  defineRoute,
  defineSource,
  defineSourceKind,
  every,
  token,
  TipError,
  TipErrorCodes,
  type TipPlugin,
} from '@tip/core';
import { TorExit, torExitMigrations } from './db.js';
import { TorExitStore } from './store.js';

declare module '@tip/core' {
  interface TipEvents {
    /** A collection cycle ended; `listed` is the number of exits listed now. */
    'tor.exits.refreshed': { listed: number; added: number; removed: number };
  }
  interface SourceReport {
    /** Lines of the feed that were not IP addresses. */
    skippedLines?: number;
  }
}

/** This plugin's error codes. */
export const TorErrors = defineErrorCodes('TOR', {
  FEED_EMPTY: 'a feed answered without a single address; the previous list is kept',
});

/** The plugin's configuration (the `tor` key). Unknown keys are errors. */
export const torConfigSchema = z.object({
  feeds: z.array(z.object({ id: z.string().regex(/^[a-z0-9-]+$/), url: z.url() })).min(1),
  interval: z.string().default('1h'),
  /** Where the exit-check service listens (`tip run` only); none: no service. */
  check: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535) }).optional(),
});
/** Validated configuration. */
export type TorConfig = z.output<typeof torConfigSchema>;

/** The app's exit store: `ctx.get(TorExitsToken)` from other plugins. */
export const TorExitsToken = token<TorExitStore>('tor.exits');

/** The plugin factory. Nothing per app lives here: `register` runs once per app. */
export default function torExits(): TipPlugin<TorConfig> {
  return definePlugin<TorConfig>({
    name: '@acme/tip-plugin-tor-exits',
    version: '1.0.0',
    core: '^0.2.0',
    routePrefix: 'tor',
    config: { key: 'tor', schema: torConfigSchema },

    register(ctx) {
      // ---- per-app state: created in init, used by everything declared below ----------------
      let store: TorExitStore | undefined;
      const exits = (): TorExitStore => {
        if (!store) throw new TipError(TipErrorCodes.APP_STATE, 'the tor-exits plugin is not initialised');
        return store;
      };
      let snapshot = new Set<string>(); // what the check service answers from

      ctx.entities(TorExit);
      ctx.migrations(...torExitMigrations);
      ctx.provide(TorExitsToken, { useFactory: exits });

      // ---- how records are stored: one atomic replace per run --------------------------------
      ctx.sourceKinds.add(
        defineSourceKind<string>({
          kind: 'tor.exits',
          async ingest({ source, run, batches }) {
            const ips = new Set<string>();
            for await (const batch of batches) for (const ip of batch) ips.add(ip);
            if (ips.size === 0) {
              throw new TipError(TorErrors.FEED_EMPTY, `feed "${source.id}" listed no address (HTTP ${run.report.httpStatus ?? '?'})`, { details: { source: source.id } });
            }
            const counts = await exits().replace(source.id, ips, new Date(run.startedAt));
            return { counts: { ...counts, skipped: run.report.skippedLines ?? 0 } };
          },
        }),
      );

      // ---- where records come from: one source per configured feed ---------------------------
      for (const feed of ctx.config.feeds) {
        ctx.sources.add(
          defineSource<string>({
            id: `tor-${feed.id}`,
            kind: 'tor.exits',
            title: `Tor exits (${feed.id})`,
            timeout: '2m',
            async *fetch(run) {
              const lines = (await run.http.text(feed.url)).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
              const ips = lines.filter((l) => isIP(l) !== 0);
              run.report.skippedLines = lines.length - ips.length;
              yield ips;
            },
          }),
        );
      }

      // ---- when: a group job fans out one child per feed, then announces the result ----------
      ctx.jobs.add({
        id: 'tor',
        description: 'collect every Tor exit feed',
        trigger: every(ctx.config.interval),
        // Children are data (a registered source), so any worker of a pg-boss deployment can run them.
        children: () => ctx.sourceRunner.list(['tor.exits']).map((s) => ({ source: s.id, id: `tor/${s.id}` })),
        async onComplete(summary) {
          const listed = await exits().listed();
          snapshot = new Set(listed);
          const sum = (k: string) => summary.children.reduce((n, c) => n + (c.counts?.[k] ?? 0), 0);
          await ctx.events.emit('tor.exits.refreshed', { listed: listed.length, added: sum('added'), removed: sum('removed') });
        },
      });

      // ---- a long-running service: only `tip run` (mode serve) starts it ---------------------
      const check = ctx.config.check;
      if (check) {
        ctx.services.add({
          id: 'tor.check',
          description: `exit check for mail servers on ${check.host}:${check.port}`,
          async start({ signal, log }) {
            snapshot = new Set(await exits().listed());
            const server = createServer((req, res) => {
              const ip = new URL(req.url ?? '/', 'http://x').searchParams.get('ip') ?? '';
              if (isIP(ip) === 0) return void res.writeHead(400).end('ip must be an IP address\n');
              res.writeHead(200, { 'content-type': 'text/plain' }).end(snapshot.has(ip) ? 'exit\n' : 'no\n');
            });
            server.listen(check.port, check.host);
            await once(server, 'listening');
            log.info({ address: server.address() }, 'tor exit check listening');
            await once(signal, 'abort');
            await new Promise((resolve) => server.close(resolve));
          },
          health: () => ({ ok: snapshot.size > 0, detail: `${snapshot.size} exits loaded` }),
        });
      }

      // ---- HTTP API routes, mounted at /api/tor by whichever server runs ----------------------
      ctx.routes.add(
        defineRoute({
          method: 'GET',
          path: '/exits',
          scope: 'read',
          summary: 'Every listed Tor exit address',
          response: z.array(z.string()),
          handler: () => exits().listed(),
        }),
        defineRoute({
          method: 'GET',
          path: '/exits/:ip',
          scope: 'read',
          summary: 'Whether an address is (or was) a Tor exit',
          params: z.object({ ip: z.string().refine((v) => isIP(v) !== 0, 'not an IP address') }),
          handler: async ({ params }) => {
            const found = await exits().lookup(params.ip);
            if (!found) throw new TipError(TipErrorCodes.NOT_FOUND, `${params.ip} was never a listed exit`, { details: { ip: params.ip } });
            return found;
          },
        }),
      );

      // ---- the per-app instance: init builds this app's store ---------------------------------
      return {
        init(ictx) {
          store = new TorExitStore(() => ictx.em());
        },
      };
    },
  });
}
