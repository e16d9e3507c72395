/**
 * `@acme/tip-plugin-sightings`: a third-party TIP plugin written only against `@tip/core`'s
 * public API. It reads feeds in its own format ("ACME sightings", see `format.ts`) into its own
 * table, and contributes an API route and a page of the web UI:
 *
 * | part | where |
 * |---|---|
 * | feed format (parser, bounded, names bad lines) | `format.ts` |
 * | entity + migration (SQLite and PostgreSQL) | `db.ts` |
 * | source kind (how records are stored) and one source per configured feed | below |
 * | group job, one child per source; an event after each cycle | below |
 * | API routes `GET /api/acme/sightings`, `GET /api/acme/sightings/:value` (zod schemas) | below |
 * | web UI page (a browser ES module exporting `mount`) | `../ui/sightings-page.js` |
 *
 * Configuration (`tip.config.json`):
 * ```json
 * { "plugins": ["@acme/tip-plugin-sightings"],
 *   "acme": { "feeds": [{ "id": "acme-eu", "url": "https://feeds.acme.example/sightings.txt" }], "interval": "15m" } }
 * ```
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  defineErrorCodes,
  definePlugin,
  defineRoute,
  defineSource,
  defineSourceKind,
  every,
  TipError,
  TipErrorCodes,
  type EntityManager,
  type TipPlugin,
} from '@tip/core';
// Relative imports name the `.ts` files so that Node runs this source as is (type stripping): the
// demo deployment loads the plugin straight from here (examples/demo/tip.config.json).
import { Sighting, sightingMigrations, type SightingRow } from './db.ts';
import { parseSightings, type Sighting as ParsedSighting } from './format.ts';

declare module '@tip/core' {
  interface TipEvents {
    /** A collection cycle of the sightings feeds ended. */
    'acme.sightings.updated': { sources: number; sightings: number; rejected: number };
  }
}

/** This plugin's error codes. */
export const AcmeErrors = defineErrorCodes('ACME', {
  FEED_INVALID: 'a sightings feed has too many invalid lines; nothing of it was stored',
});

/** The plugin's configuration (the `acme` key). Unknown keys are errors. */
export const acmeConfigSchema = z
  .object({
    /** The feeds to collect. */
    feeds: z.array(z.object({ id: z.string().regex(/^[a-z0-9-]{1,60}$/), url: z.url({ protocol: /^https?$/ }), title: z.string().max(200).optional() }).strict()).min(1),
    /** Collection interval (default `15m`). */
    interval: z.string().default('15m'),
    /** Refuse a feed run when more than this share of its lines are invalid (default 0.2). */
    maxInvalidRatio: z.number().min(0).max(1).default(0.2),
  })
  .strict();
/** Validated configuration. */
export type AcmeConfig = z.output<typeof acmeConfigSchema>;

/** The browser module of the plugin's UI page (served by `@tip/web` at `/ui/pages/acme.sightings.js`). */
export const SIGHTINGS_PAGE_MODULE = fileURLToPath(new URL('../ui/sightings-page.js', import.meta.url));

/** Query of `GET /api/acme/sightings`. */
const listQuery = z.object({
  type: z.enum(['ip', 'domain', 'url']).optional(),
  minConfidence: z.coerce.number().int().min(0).max(100).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
/** One sighting in API answers. */
const sightingOut = z.object({
  source: z.string(),
  value: z.string(),
  type: z.string(),
  confidence: z.number(),
  note: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  runs: z.number(),
});
type SightingOut = z.output<typeof sightingOut>;

/** The plugin factory. Nothing per app lives here: `register` runs once per app. */
export default function sightingsPlugin(): TipPlugin<AcmeConfig> {
  return definePlugin<AcmeConfig>({
    name: '@acme/tip-plugin-sightings',
    version: '1.0.0',
    core: '^0.2.0',
    routePrefix: 'acme',
    config: { key: 'acme', schema: acmeConfigSchema },

    register(ctx) {
      let em: (() => EntityManager) | undefined;
      const db = (): EntityManager => {
        if (!em) throw new TipError(TipErrorCodes.APP_STATE, 'the sightings plugin is not initialised');
        return em();
      };
      ctx.entities(Sighting);
      ctx.migrations(...sightingMigrations);

      // ---- how records are stored: upsert what a run saw --------------------------------------
      ctx.sourceKinds.add(
        defineSourceKind<ParsedSighting>({
          kind: 'acme.sightings',
          async ingest({ source, batches }) {
            let stored = 0;
            await db().transactional(async (tx) => {
              for await (const batch of batches) {
                for (const s of batch) {
                  const row = await tx.findOne(Sighting, { source: source.id, value: s.value });
                  if (row) Object.assign(row, { confidence: s.confidence, note: s.note, lastSeen: s.seen > row.lastSeen ? s.seen : row.lastSeen, runs: row.runs + 1 });
                  else tx.create(Sighting, { source: source.id, value: s.value, type: s.type, confidence: s.confidence, note: s.note, firstSeen: s.seen, lastSeen: s.seen, runs: 1 });
                  stored++;
                }
              }
              await tx.flush();
            });
            return { counts: { stored } };
          },
        }),
      );

      // ---- where records come from: one source per configured feed, in this plugin's format ---
      let rejected = 0; // invalid lines of the current cycle, reported by the event below
      for (const feed of ctx.config.feeds) {
        ctx.sources.add(
          defineSource<ParsedSighting>({
            id: `acme-${feed.id}`,
            kind: 'acme.sightings',
            title: feed.title ?? `ACME sightings (${feed.id})`,
            timeout: '2m',
            async *fetch(run) {
              const parsed = parseSightings(await run.http.text(feed.url));
              const total = parsed.sightings.length + parsed.rejectedCount;
              if (total > 0 && parsed.rejectedCount / total > ctx.config.maxInvalidRatio) {
                const first = parsed.rejected[0]!;
                throw new TipError(AcmeErrors.FEED_INVALID, `feed "${feed.id}": ${parsed.rejectedCount} of ${total} lines invalid (line ${first.line}: ${first.reason})`, {
                  details: { feed: feed.id, rejected: parsed.rejected.slice(0, 10) },
                });
              }
              rejected += parsed.rejectedCount;
              for (let i = 0; i < parsed.sightings.length; i += 500) yield parsed.sightings.slice(i, i + 500);
            },
          }),
        );
      }

      // ---- when: a group job, one child per source; an event once every child ended ----------
      ctx.jobs.add({
        id: 'acme',
        description: 'collect every ACME sightings feed',
        trigger: every(ctx.config.interval),
        children: () => ctx.sourceRunner.list(['acme.sightings']).map((s) => ({ source: s.id, id: `acme/${s.id}` })),
        async onComplete(summary) {
          const sightings = await db().count(Sighting, {});
          await ctx.events.emit('acme.sightings.updated', { sources: summary.total, sightings, rejected });
          rejected = 0;
        },
      });
      // public: @tip/web records it, streams it to the UI (the page reloads on it) and to webhooks
      ctx.publicEvents.add({ name: 'acme.sightings.updated', description: 'a collection cycle of the ACME sightings feeds ended' });

      // ---- HTTP API: mounted at /api/acme by whichever server runs (@tip/web, CLI, RouteRouter)
      const toOut = (r: SightingRow): SightingOut => ({
        source: r.source,
        value: r.value,
        type: r.type,
        confidence: r.confidence,
        note: r.note,
        firstSeen: r.firstSeen.toISOString(),
        lastSeen: r.lastSeen.toISOString(),
        runs: r.runs,
      });
      ctx.routes.add(
        defineRoute({
          method: 'GET',
          path: '/sightings',
          scope: 'read',
          summary: 'Sightings, most confident first',
          query: listQuery,
          response: z.object({ items: z.array(sightingOut) }),
          handler: async ({ query }) => {
            const rows = await db().find(
              Sighting,
              { confidence: { $gte: query.minConfidence }, ...(query.type ? { type: query.type } : {}) },
              { orderBy: { confidence: 'desc', lastSeen: 'desc', value: 'asc' }, limit: query.limit },
            );
            return { items: rows.map(toOut) };
          },
        }),
        defineRoute({
          method: 'GET',
          path: '/sightings/:value',
          scope: 'read',
          summary: 'Every source that reported a value',
          params: z.object({ value: z.string().min(1).max(2000) }),
          response: z.object({ value: z.string(), reports: z.array(sightingOut) }),
          handler: async ({ params }) => {
            const rows = await db().find(Sighting, { value: params.value }, { orderBy: { source: 'asc' } });
            if (rows.length === 0) throw new TipError(TipErrorCodes.NOT_FOUND, `no source reported "${params.value}"`, { details: { value: params.value } });
            return { value: params.value, reports: rows.map(toOut) };
          },
        }),
      );

      // ---- a page of the web UI: a browser ES module that @tip/web serves and mounts ----------
      ctx.pages.add({ id: 'acme.sightings', title: 'ACME sightings', path: '/sightings', module: SIGHTINGS_PAGE_MODULE, scope: 'read', order: 50 });

      return {
        init(ictx) {
          em = () => ictx.em();
        },
      };
    },
  });
}

export { parseSightings, type ParsedSightings, type ParseLimits, type RejectedLine, type Sighting as ParsedSighting, type SightingType } from './format.ts';
export { Sighting, sightingMigrations, type SightingRow } from './db.ts';
