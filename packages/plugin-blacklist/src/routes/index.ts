import { defineRoute, durationSchema, isTipError, MAX_DURATION_MS, parseDuration, reply, TipError, TipErrorCodes, type RouteDefinition } from '@tip/core';
import { z } from 'zod';
import { BlacklistErrors } from '../errors.js';
import { canonicalize } from '../indicators/canonical.js';
import type { BlacklistRuntime } from '../runtime.js';
import { SEARCH_MAX_LIMIT } from '../service/search.js';
import { METRIC_UNITS } from '../service/weights.js';

/** `a,b` or repeated `?x=a&x=b`: a list of trimmed, non-empty strings. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' || Array.isArray(v) ? ([v].flat() as unknown[]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean) : v),
    z.array(item),
  );

/** Query of `GET /export`. */
export const exportQuerySchema = z
  .object({
    /** `plain` (default), `hosts`, `csv`, `json`, `rpz`, `stix`, `ipset`, `nftables`, `misp` or a registered format. */
    format: z.string().default('plain'),
    /** Minimum decayed score in [0, 1]. */
    minScore: z.coerce.number().min(0).max(1).optional(),
    /** Only these indicator types (`ip,cidr`). */
    types: list(z.enum(['ip', 'cidr', 'domain', 'url'])).optional(),
    /** Only indicators listed by a source of these categories. */
    categories: list(z.enum(['spam', 'malware', 'phishing', 'c2', 'scanner', 'bruteforce', 'botnet', 'compromised', 'reputation', 'abuse', 'other'])).optional(),
    /** Only indicators listed by these sources. */
    sources: list(z.string()).optional(),
    /** Only indicators seen within this duration (`7d`); milliseconds once validated. */
    maxAge: durationSchema().optional(),
    /** List name (RPZ zone name when it is a DNS name; ipset/nftables set name); also the file name. */
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,252}$/i, 'letters, digits, ".", "_" or "-"').optional(),
    /** `1`/`true`: aggregate ip/cidr entries into the minimal CIDR list; `0`/`false`: do not; unset: the format decides (ipset and nftables aggregate). */
    aggregate: z
      .enum(['1', '0', 'true', 'false'])
      .transform((v) => v === '1' || v === 'true')
      .optional(),
  })
  .strict();

/** Path of `GET /indicators/:value`. */
export const indicatorParamsSchema = z.object({ value: z.string().min(1).max(4096) });

const badInput = (path: string, message: string, details: Record<string, unknown> = {}) =>
  new TipError(TipErrorCodes.INPUT_INVALID, `${path}: ${message}`, { details: { ...details, issues: [{ path, message }] } });

/**
 * The plugin's HTTP API, mounted under `/api/blacklist` (all `read` scope):
 *
 * - `GET /export` — the aggregated blacklist as a file download, streamed;
 * - `GET /sources` — every source with its listings, last run and latest metrics;
 * - `GET /weights` — every source's metrics and weight as the last cycle stored them;
 * - `GET /indicators/:value` — is an IP, CIDR, domain or URL listed, by whom, with which score;
 * - `GET /explain/:value` — why it scores what it scores (see `BlacklistService.explain`).
 */
export function blacklistRoutes(runtime: BlacklistRuntime): RouteDefinition[] {
  return [
    exportRoute(runtime),
    sourcesRoute(runtime),
    sourceRoute(runtime),
    weightsRoute(runtime),
    searchRoute(runtime),
    historyRoute(runtime),
    indicatorRoute(runtime),
    explainRoute(runtime),
    overlapRoute(runtime),
    timelineRoute(runtime),
  ] as RouteDefinition[];
}

/** Query of `GET /search`. */
export const searchQuerySchema = z
  .object({
    /** An indicator (IP, CIDR, domain, URL; exact search) or a CIDR (every listed ip/cidr inside it); none: everything, newest first. */
    q: z.string().max(4096).optional(),
    /** Only this indicator type. */
    type: z.enum(['ip', 'cidr', 'domain', 'url']).optional(),
    /** Only indicators listed by one of these sources (repeat it or separate with commas). */
    source: list(z.string().max(200)).optional(),
    /** Minimum decayed score in [0, 1]. */
    minScore: z.coerce.number().min(0).max(1).optional(),
    /** Only indicators last seen at or after this time: an ISO date, or a duration back from now (`7d`). */
    since: z.string().max(100).optional(),
    /** Items per page (1 to 500, default 50). */
    limit: z.coerce.number().int().min(1).max(SEARCH_MAX_LIMIT).default(50),
    /** `nextCursor` of the previous page. */
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** Query of `GET /timeline`. */
export const timelineQuerySchema = z.object({ /** An ISO date, or a duration back from now (default `30d`). */ since: z.string().max(100).default('30d') }).strict();

/** Query of `GET /sources/:id`. */
export const sourceQuerySchema = z
  .object({
    /** Recent runs to list (1 to 1000, default 50). */
    runs: z.coerce.number().int().min(1).max(1000).default(50),
    /** Recent cycles of metrics history (1 to 1000, default 100). */
    cycles: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** `since`: an ISO date or a duration back from `now`; epoch ms. */
function parseSince(text: string, now: number): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(t) || /^\d+[a-z]/i.test(t)) {
    try {
      return now - parseDuration(t, 'query.since', { max: MAX_DURATION_MS });
    } catch (err) {
      throw badInput('query.since', (err as Error).message, { input: text });
    }
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(t) ? Date.parse(t) : Number.NaN;
  if (!Number.isFinite(ms)) throw badInput('query.since', `"${text}" is neither an ISO date nor a duration such as 7d`, { input: text });
  return ms;
}

/** A service error naming a query parameter (`details.path`), as a 400 naming `query.<path>`. */
function asQueryError(err: unknown): unknown {
  if (isTipError(err, TipErrorCodes.INPUT_INVALID) && typeof (err.details as { path?: unknown }).path === 'string') {
    const path = (err.details as { path: string }).path;
    return badInput(`query.${path}`, err.message.replace(new RegExp(`^${path}: `), ''), { input: (err.details as { input?: unknown }).input });
  }
  return err;
}

function searchRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/search',
    scope: 'read',
    summary: 'Search the listed indicators',
    description:
      '`q` an indicator (canonicalised; exact match) or a CIDR (IPv4 or IPv6: every listed ip/cidr whose range lies inside it, in address order); without `q`, every listed indicator, newest stored first. Filters: `type`, `source` (repeatable: listed by one of them), `minScore` (decayed score as in exports), `since` (last seen at or after; ISO date or duration such as `7d`). Cursor pagination: pass `nextCursor` as `cursor`; a page reads at most `limit + 1` candidates, or with `minScore` examines at most 10,000 and may end early (`truncated: true`, `scanned`) with a cursor to go on.',
    query: searchQuerySchema,
    async handler({ query }) {
      const since = query.since === undefined ? undefined : parseSince(query.since, runtime.clock().now());
      if (query.source && query.source.length > 100) throw badInput('query.source', `at most 100 sources (got ${query.source.length})`);
      try {
        return await runtime.service().search({ q: query.q, type: query.type, sources: query.source, minScore: query.minScore, since, limit: query.limit, cursor: query.cursor });
      } catch (err) {
        throw asQueryError(err);
      }
    },
  });
}

function historyRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/indicators/:value/history',
    scope: 'read',
    summary: 'Listing history of an indicator',
    description:
      'Canonicalises `value` (URL-encode it) and lists when each source (enabled or not) started (`listed`) and stopped (`unlisted`) listing it, oldest first (the most recent 1,000 events; `truncated` when there were more). Empty for an indicator never listed; 400 when it is no indicator.',
    params: indicatorParamsSchema,
    async handler({ params }) {
      const canonical = canonicalize(params.value);
      if (!canonical.ok) throw badInput('params.value', `"${params.value.slice(0, 200)}" is not an indicator: ${canonical.reason}`, { input: params.value.slice(0, 200) });
      return runtime.service().history(canonical.indicators[0]!);
    },
  });
}

function sourceRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/sources/:id',
    scope: 'read',
    summary: 'One source in detail',
    description:
      'A source with its stored metadata, the settings the configuration gives it (`config`, null for sources it does not configure), its recent runs (`runs`, newest first) and its metrics and weight per cycle (`metricsHistory`, oldest first). 404 for an unknown source.',
    params: z.object({ id: z.string().min(1).max(200) }),
    query: sourceQuerySchema,
    async handler({ params, query }) {
      const detail = await runtime.service().sourceDetail(params.id, { runs: query.runs, cycles: query.cycles });
      if (!detail) throw new TipError(TipErrorCodes.NOT_FOUND, `blacklist source "${params.id}" does not exist`, { details: { source: params.id } });
      return { ...detail, metricUnits: METRIC_UNITS };
    },
  });
}

function overlapRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/overlap',
    scope: 'read',
    summary: 'Pairwise overlap of the enabled sources',
    description:
      '`matrix[i][j]`: the share of source i\'s entries that source j lists too (0..1); `counts[i][j]`: how many (`counts[i][i]`: i\'s entries). From the last cycle\'s stored metrics (`basis: "metrics"`, per the configured overlap mode) when every enabled source has some, else counted from the current listings on exact identity (`basis: "listings"`).',
    handler: async () => runtime.service().overlap(),
  });
}

function timelineRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/timeline',
    scope: 'read',
    summary: 'Listed totals and changes per cycle',
    description: 'One point per completed `blacklist` cycle since `since` (ISO date or duration back from now, default `30d`), oldest first: distinct indicators listed after it, listings added and removed by its feeds, and its run id.',
    query: timelineQuerySchema,
    handler: async ({ query }) => ({ points: await runtime.service().timeline(parseSince(query.since, runtime.clock().now())) }),
  });
}

function exportRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/export',
    scope: 'read',
    summary: 'Download the aggregated blacklist',
    description:
      'Streams the currently listed indicators of enabled sources, scored and allow-list filtered, in `format`; same document as `tip blacklist export`. `aggregate=1` merges ip/cidr entries into the minimal CIDR list (default for ipset and nftables). `format=misp` returns the MISP event (`{"Event": …}`) of the MISP feed that `tip blacklist export -f misp -o DIR` writes.',
    produces: 'text/plain',
    query: exportQuerySchema,
    async handler({ query }) {
      const service = runtime.service();
      if (!service.writers.has(query.format)) {
        throw badInput('query.format', `unknown export format "${query.format}" (known: ${[...service.writers.keys()].join(', ')})`, { input: query.format });
      }
      const { format, maxAge, ...rest } = query;
      try {
        const { writer, chunks } = await service.exportStream({ format, ...rest, maxAgeMs: maxAge });
        return reply.stream(chunks, { contentType: writer.contentType, filename: `${query.name ?? 'tip-blacklist'}.${writer.fileExtension}` });
      } catch (err) {
        if (isTipError(err, BlacklistErrors.SOURCE_UNKNOWN)) throw badInput('query.sources', err.message, err.details);
        // a list name the format cannot use (ipset/nftables set names)
        if (isTipError(err, TipErrorCodes.INPUT_INVALID) && (err.details as { path?: string }).path === 'name') throw badInput('query.name', err.message, err.details);
        throw err;
      }
    },
  });
}

function sourcesRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/sources',
    scope: 'read',
    summary: 'Blacklist sources with their listings, last run and metrics',
    description: 'Every source (configured feeds, third-party sources, submitting plugins): listed indicators, last run, and the metrics and weight of the last cycle (`null` before the first).',
    async handler() {
      const service = runtime.service();
      const [sources, metrics, runs] = await Promise.all([service.sources(), service.latestMetrics(), service.lastRuns()]);
      const bySource = new Map(metrics.map((m) => [m.source, m]));
      return { sources: sources.map((s) => ({ ...s, lastRun: runs.get(s.id) ?? null, metrics: bySource.get(s.id) ?? null })), metricUnits: METRIC_UNITS };
    },
  });
}

function weightsRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/weights',
    scope: 'read',
    summary: 'Source metrics and weights of the last cycle',
    description:
      'One entry per source that has metrics: volume, exclusivity, false-positive rate, availability, churn, overlaps and the weight exports use; `addresses` gives volume, overlaps, exclusivity, churn and false positives counted in addresses per family (IPv4, IPv6). `units` states the unit of each.',
    handler: async () => ({ weights: await runtime.service().latestMetrics(), units: METRIC_UNITS }),
  });
}

function indicatorRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/indicators/:value',
    scope: 'read',
    summary: 'Look an indicator up',
    description:
      'Canonicalises `value` (IP, CIDR, domain or URL; URL-encode it) and tells whether enabled sources list it, which ones, with which score, and for an IP which listed CIDRs contain it. 404 when nothing lists it, 400 when it is no indicator.',
    params: indicatorParamsSchema,
    async handler({ params }) {
      const canonical = canonicalize(params.value);
      if (!canonical.ok) throw badInput('params.value', `"${params.value}" is not an indicator: ${canonical.reason}`, { input: params.value });
      const found = await runtime.service().lookup(canonical.indicators[0]!);
      if (!found.listed && found.containedIn.length === 0) {
        throw new TipError(TipErrorCodes.NOT_FOUND, `${found.indicator.type} "${found.indicator.value}" is not listed`, { details: { indicator: found.indicator } });
      }
      return found;
    },
  });
}

function explainRoute(runtime: BlacklistRuntime) {
  return defineRoute({
    method: 'GET',
    path: '/explain/:value',
    scope: 'read',
    summary: 'Explain the verdict on an indicator',
    description:
      'Canonicalises `value` (IP, CIDR, domain or URL; URL-encode it) and explains its score: every source listing it, its covering CIDRs, parent domains or URL host, with first/last seen, age and decay, each source weight with its stored metrics and formula terms, allow-list hits with their reason, and the final score (the same as in exports). 200 even when nothing lists it (score 0); 400 when it is no indicator.',
    params: indicatorParamsSchema,
    async handler({ params }) {
      try {
        return await runtime.service().explain(params.value);
      } catch (err) {
        if (isTipError(err, TipErrorCodes.INPUT_INVALID)) throw badInput('params.value', err.message.replace(/^value: /, ''), { input: params.value });
        throw err;
      }
    },
  });
}
