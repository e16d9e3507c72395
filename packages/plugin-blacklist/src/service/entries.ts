import { executeRaw, type Database } from '@tip/core';
import type { Allowlist } from '../allowlists/index.js';
import type { ExportEntry } from '../export/index.js';
import type { IndicatorType, SourceCategory } from '../indicators/types.js';
import { decay, scoreIndicator, type DecayModel } from '../weighting/index.js';

/** Filters of an export. */
export interface EntryFilter {
  /** Only these indicator types. */
  types?: readonly IndicatorType[];
  /** Only indicators listed by a source of one of these categories. */
  categories?: readonly SourceCategory[];
  /** Only indicators listed by one of these sources. */
  sources?: readonly string[];
  /** Minimum decayed score in [0, 1]. */
  minScore?: number;
  /** Only indicators seen within this many ms. */
  maxAgeMs?: number;
  /** Drop indicators the allow-list matches (default true when an allow-list is given). */
  applyAllowlist?: boolean;
}

/** What scoring needs. */
export interface ScoringContext {
  now: number;
  weights: ReadonlyMap<string, number>;
  defaultWeight: number;
  decay: DecayModel;
  allowlist?: Allowlist;
}

const PAGE = 20_000;

/** One open listing of an enabled source, joined with its indicator and source. */
export interface ListedRow {
  /** Indicator id. */
  id: number;
  /** Indicator type. */
  type: IndicatorType;
  /** Canonical value. */
  value: string;
  /** When any source first listed the indicator (epoch ms; a string from some drivers). */
  first_seen: number | string;
  /** The listing source. */
  source_id: string;
  /**
   * When that source last confirmed it (epoch ms): the listing's own last-seen (submitted sources),
   * else the source's last success (feeds), else when the listing opened.
   */
  last_seen: number | string;
  /** The source's category. */
  category: SourceCategory;
}

/**
 * When a source last confirmed a listing `l` of source `s` (SQL): the listing's own last-seen
 * (submitted sources), else the source's last success (feeds), else when the listing opened.
 * What scoring decays from; every query that reads a listing's last-seen uses this one expression.
 * @internal
 */
export const LISTING_LAST_SEEN = 'coalesce(l.last_seen, s.last_success_at, l.first_seen)';

/** Selects {@link ListedRow}s: open listings of enabled sources; append `and …` conditions. */
export const LISTED_ROWS = (sqlite: boolean): string =>
  `select i.id, i.type, i.value, i.first_seen, l.source_id, ${LISTING_LAST_SEEN} as last_seen, s.category
   from bl_listing l join bl_indicator i on i.id = l.indicator_id join bl_source s on s.id = l.source_id
   where l.removed_at is null and s.enabled = ${sqlite ? '1' : 'true'}`;

/**
 * The entry of one indicator from its listings (all rows of the same indicator): the noisy-OR
 * of the listing sources' weights, decayed by the time since it was last seen.
 */
export function scoreListings(group: readonly ListedRow[], ctx: ScoringContext): ExportEntry {
  const first = group[0]!;
  const lastSeen = Math.max(...group.map((r) => Number(r.last_seen)));
  const base = scoreIndicator(group.map((r) => ctx.weights.get(r.source_id) ?? ctx.defaultWeight));
  return {
    type: first.type,
    value: first.value,
    score: decay(base, ctx.now - lastSeen, ctx.decay[first.type]),
    firstSeen: new Date(Number(first.first_seen)),
    lastSeen: new Date(lastSeen),
    sources: [...new Set(group.map((r) => r.source_id))].sort(),
    categories: [...new Set(group.map((r) => r.category))].sort(),
  };
}

/**
 * Streams the currently listed indicators with their score: the noisy-OR of the weights of the
 * sources listing them, decayed by the time since the indicator was last seen (MISP polynomial).
 * Reads in pages of indicator ids so a million entries never sit in memory at once.
 */
export async function* listedEntries(db: Database, filter: EntryFilter, ctx: ScoringContext): AsyncGenerator<ExportEntry> {
  const sqlite = db.dialect === 'sqlite';
  let after = 0;
  const types = filter.types ? new Set(filter.types) : undefined;
  const categories = filter.categories ? new Set(filter.categories) : undefined;
  const sources = filter.sources ? new Set(filter.sources) : undefined;
  const applyAllow = filter.applyAllowlist ?? true;
  for (;;) {
    const { rows } = await executeRaw<ListedRow>(
      db.em(),
      `${LISTED_ROWS(sqlite)} and l.indicator_id > ${sqlite ? '?' : '$1'} and l.indicator_id <= ${sqlite ? '?' : '$2'} order by l.indicator_id`,
      [after, after + PAGE],
    );
    if (rows.length === 0) {
      const more = await executeRaw<{ n: number | string | null }>(db.em(), `select min(indicator_id) as n from bl_listing where removed_at is null and indicator_id > ${sqlite ? '?' : '$1'}`, [after]);
      const next = more.rows[0]?.n;
      if (next === null || next === undefined) return;
      after = Number(next) - 1;
      continue;
    }
    let i = 0;
    while (i < rows.length) {
      const first = rows[i]!;
      const group = [];
      while (i < rows.length && rows[i]!.id === first.id) group.push(rows[i++]!);
      if (types && !types.has(first.type)) continue;
      if (sources && !group.some((r) => sources.has(r.source_id))) continue;
      if (categories && !group.some((r) => categories.has(r.category))) continue;
      const entry = scoreListings(group, ctx);
      if (filter.maxAgeMs !== undefined && ctx.now - entry.lastSeen.getTime() > filter.maxAgeMs) continue;
      if (filter.minScore !== undefined && entry.score < filter.minScore) continue;
      if (applyAllow && ctx.allowlist?.match({ type: first.type, value: first.value })) continue;
      yield entry;
    }
    after += PAGE;
  }
}
