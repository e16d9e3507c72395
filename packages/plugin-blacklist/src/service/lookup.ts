import { executeRaw, type Database } from '@tip/core';
import type { AllowMatch } from '../allowlists/index.js';
import type { ExportEntry } from '../export/index.js';
import { bits, formatIp, rangeOf } from '../indicators/ip.js';
import type { Indicator } from '../indicators/types.js';
import { LISTED_ROWS, scoreListings, type ListedRow, type ScoringContext } from './entries.js';

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

/**
 * Looks one canonical indicator up in the current listings of enabled sources: its exact
 * listing and, for an IP, every listed CIDR containing it. The containing CIDRs are found by
 * enumerating the IP's canonical covering prefixes ({@link coveringCidrs}) and looking them up,
 * with the IP itself, through the (type, value) unique index: one indexed statement, whatever the
 * number of listed CIDRs.
 */
export async function lookupIndicator(db: Database, indicator: Indicator, ctx: ScoringContext): Promise<IndicatorLookup> {
  const sqlite = db.dialect === 'sqlite';
  const covering: Indicator[] = indicator.type === 'ip' ? coveringCidrs(indicator.value).map((value) => ({ type: 'cidr', value })) : [];
  const where = indicatorsClause(sqlite, [indicator, ...covering]);
  const { rows } = await executeRaw<ListedRow>(db.em(), `${LISTED_ROWS(sqlite)} and ${where.sql} order by i.id`, where.params);
  const exact = rows.filter((r) => r.type === indicator.type && r.value === indicator.value);
  const containedIn: ExportEntry[] = [];
  const wanted = new Set(covering.map((c) => c.value));
  for (const group of groupById(rows.filter((r) => r.type === 'cidr' && wanted.has(r.value)))) containedIn.push(scoreListings(group, ctx));
  return {
    indicator,
    listed: exact.length > 0 ? scoreListings(exact, ctx) : null,
    containedIn,
    allowlisted: ctx.allowlist?.match(indicator) ?? null,
  };
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
