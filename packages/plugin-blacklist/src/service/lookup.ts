import { executeRaw, type Database } from '@tip/core';
import type { AllowMatch } from '../allowlists/index.js';
import type { ExportEntry } from '../export/index.js';
import { bits, formatIp, rangeOf } from '../indicators/ip.js';
import type { Indicator, IndicatorType } from '../indicators/types.js';
import { LISTING_LAST_SEEN, scoreListings, type ListedRow, type ScoringContext } from './entries.js';

/** What `lookupIndicator` found about one indicator. */
export interface IndicatorLookup {
  /** The canonical indicator looked up. */
  indicator: Indicator;
  /** Its aggregated entry (score, sources…) when enabled sources list it exactly; null otherwise. */
  listed: ExportEntry | null;
  /** For an IP: listed CIDRs that contain it, each with its own entry. */
  containedIn: ExportEntry[];
  /** The allow-list entry matching it, if any (exports leave such indicators out). */
  allowlisted: AllowMatch | null;
}

/**
 * The canonical `cidr` values that strictly contain an `ip` or `cidr` value: one per shorter
 * prefix, most specific first (≤ 31 for IPv4, ≤ 127 for IPv6; /0 is never a canonical CIDR).
 * Empty for anything else. Looking these up through the unique (type, value) index finds every
 * listed covering CIDR without scanning the CIDRs.
 */
export function coveringCidrs(value: string): string[] {
  const r = rangeOf(value);
  if (!r) return [];
  const width = Number(bits(r.version));
  const prefix = value.includes('/') ? Number(value.slice(value.indexOf('/') + 1)) : width;
  const out: string[] = [];
  for (let p = prefix - 1; p >= 1; p--) {
    const host = BigInt(width - p);
    const start = (r.start >> host) << host;
    out.push(`${formatIp(r.version, start)}/${p}`);
  }
  return out;
}

/**
 * The parent domains of a canonical domain that could be listed: every proper suffix of at least
 * two labels, closest first (`a.b.evil.com` → `b.evil.com`, `evil.com`). Public suffixes among
 * them are never canonical domains, so they simply match nothing.
 */
export function parentDomains(domain: string): string[] {
  const out: string[] = [];
  let rest = domain;
  for (;;) {
    const dot = rest.indexOf('.');
    if (dot < 0) break;
    rest = rest.slice(dot + 1);
    if (!rest.includes('.')) break;
    out.push(rest);
  }
  return out;
}

/**
 * The condition and parameters `i.type in (…) and i.value in (…)` selecting the given indicators
 * in one indexed statement (the unique (type, value) index is probed for each pair). Canonical
 * values of different types never coincide (an IP has no `/`, a CIDR has one, a domain is no IP,
 * a URL has `://`), so the cross product selects exactly the wanted (type, value) pairs.
 * @internal
 */
export function indicatorsClause(sqlite: boolean, indicators: readonly Indicator[]): { sql: string; params: string[] } {
  const types = [...new Set(indicators.map((i) => i.type))];
  const values = [...new Set(indicators.map((i) => i.value))];
  const ph = (n: number) => (sqlite ? '?' : `$${n}`);
  const t = types.map((_, k) => ph(k + 1)).join(', ');
  const v = values.map((_, k) => ph(types.length + k + 1)).join(', ');
  return { sql: `i.type in (${t}) and i.value in (${v})`, params: [...types, ...values] };
}

/** A stored indicator as {@link storedIndicators} reads it. @internal */
export interface StoredIndicator {
  id: number;
  type: IndicatorType;
  value: string;
  first_seen: number | string;
}

/**
 * The stored indicators among `wanted` (listed or not): one statement on `bl_indicator` alone
 * through its unique (type, value) index, cheap to plan and run; most look-ups stop here
 * (nothing stored, nothing listed).
 * @internal
 */
export async function storedIndicators(db: Database, wanted: readonly Indicator[]): Promise<StoredIndicator[]> {
  if (wanted.length === 0) return [];
  const where = indicatorsClause(db.dialect === 'sqlite', wanted);
  const { rows } = await executeRaw<StoredIndicator>(db.em(), `select i.id, i.type, i.value, i.first_seen from bl_indicator i where ${where.sql}`, where.params);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** A {@link ListedRow} with its source's title, enabled flag and latest weight, and the listing's start. @internal */
export interface ListingRow extends ListedRow {
  /** The source's weight in its latest `bl_source_metric` row; null before any. */
  weight: number | string | null;
  /** When this listing period began. */
  listing_first_seen: number | string;
  /** The source's title. */
  title: string;
  /** Whether the source is enabled. */
  enabled: number | boolean;
}

/**
 * The open listings of some stored indicators as {@link ListedRow}s — the rows the export's
 * `LISTED_ROWS` selects: open listings, `last_seen` = the listing's own last-seen (submitted
 * sources), else the source's last success, else the listing's start, of enabled sources only unless `includeDisabled` — in (indicator id, source)
 * order, each with its source's weight in the latest `bl_source_metric` row (the row
 * `latestWeights` reads; on equal `computed_at`, the last stored), read through the
 * (source_id, computed_at) index instead of aggregating the metrics history; with `metrics`, that
 * row's other columns too (`m_<column>`, see {@link METRIC_COLUMNS}). Two tables and a list of
 * ids: cheap to plan on PostgreSQL, unlike the three-table join with a list of values.
 * @internal
 */
export async function listingsOf(db: Database, indicators: readonly StoredIndicator[], options: { includeDisabled?: boolean; metrics?: boolean } = {}): Promise<ListingRow[]> {
  if (indicators.length === 0) return [];
  const sqlite = db.dialect === 'sqlite';
  const ph = (n: number) => (sqlite ? '?' : `$${n}`);
  const byId = new Map(indicators.map((i) => [i.id, i]));
  const latest = `(select m2.id from bl_source_metric m2 where m2.source_id = l.source_id order by m2.computed_at desc, m2.id desc limit 1)`;
  const { rows } = await executeRaw<Omit<ListingRow, 'id' | 'type' | 'value' | 'first_seen'> & { indicator_id: number | string }>(
    db.em(),
    `select l.indicator_id, l.source_id, ${LISTING_LAST_SEEN} as last_seen, s.category, l.first_seen as listing_first_seen, s.title, s.enabled,
       ${options.metrics ? `m.weight, ${METRIC_COLUMNS.map((c) => `m.${c} as m_${c}`).join(', ')}` : `(select m.weight from bl_source_metric m where m.id = ${latest}) as weight`}
     from bl_listing l join bl_source s on s.id = l.source_id${options.metrics ? ` left join bl_source_metric m on m.id = ${latest}` : ''}
     where l.removed_at is null${options.includeDisabled ? '' : ` and s.enabled = ${sqlite ? '1' : 'true'}`} and l.indicator_id in (${indicators.map((_, k) => ph(k + 1)).join(', ')})
     order by l.indicator_id, l.source_id`,
    indicators.map((i) => i.id),
  );
  return rows.map((r) => {
    const { indicator_id, ...rest } = r;
    const i = byId.get(Number(indicator_id))!;
    return { ...rest, id: i.id, type: i.type, value: i.value, first_seen: i.first_seen };
  });
}

/** Columns of `bl_source_metric` that {@link listingsOf} returns as `m_<column>` with `metrics: true`. @internal */
export const METRIC_COLUMNS = ['computed_at', 'window_ms', 'volume', 'exclusive', 'latency_median_ms', 'persistence_median_ms', 'churn', 'false_positive_rate', 'availability', 'freshness_ms', 'overlap', 'differential', 'addresses', 'fingerprint'] as const;

/** The weights of the sources of some rows carrying their source's latest weight (see {@link listingsOf}). @internal */
export function weightsOfRows(rows: ReadonlyArray<{ source_id: string; weight: number | string | null }>): Map<string, number> {
  const weights = new Map<string, number>();
  for (const r of rows) if (r.weight !== null && r.weight !== undefined) weights.set(r.source_id, Number(r.weight));
  return weights;
}

/**
 * Looks one canonical indicator up in the current listings of enabled sources: its exact
 * listing and, for an IP, every listed CIDR containing it. The containing CIDRs are found by
 * enumerating the IP's canonical covering prefixes ({@link coveringCidrs}) and looking them up,
 * with the IP itself, through the (type, value) unique index — never by reading the CIDRs; the
 * listings (and their sources' latest weights) are then read by indicator id, only when some of
 * those indicators are stored. Scores are the export's (`scoreListings`) with the weights read
 * along (see {@link listingsOf}).
 */
export async function lookupIndicator(db: Database, indicator: Indicator, ctx: Omit<ScoringContext, 'weights'>): Promise<IndicatorLookup> {
  const covering: Indicator[] = indicator.type === 'ip' ? coveringCidrs(indicator.value).map((value) => ({ type: 'cidr', value })) : [];
  const rows = await listingsOf(db, await storedIndicators(db, [indicator, ...covering]));
  const scoring: ScoringContext = { ...ctx, weights: weightsOfRows(rows) };
  const exact = rows.filter((r) => r.type === indicator.type && r.value === indicator.value);
  const wanted = new Set(covering.map((c) => c.value));
  const containedIn = groupById(rows.filter((r) => r.type === 'cidr' && wanted.has(r.value))).map((group) => scoreListings(group, scoring));
  return { indicator, listed: exact.length > 0 ? scoreListings(exact, scoring) : null, containedIn, allowlisted: ctx.allowlist?.match(indicator) ?? null };
}

/** Rows grouped by indicator id, in order of first appearance. @internal */
export function groupById<T extends { id: number | string }>(rows: readonly T[]): T[][] {
  const groups = new Map<number, T[]>();
  for (const r of rows) {
    const g = groups.get(Number(r.id));
    if (g) g.push(r);
    else groups.set(Number(r.id), [r]);
  }
  return [...groups.values()];
}
