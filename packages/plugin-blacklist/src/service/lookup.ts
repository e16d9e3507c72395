import { executeRaw, type Database } from '@tip/core';
import type { AllowMatch } from '../allowlists/index.js';
import type { ExportEntry } from '../export/index.js';
import { rangeOf } from '../indicators/ip.js';
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
 * Looks one canonical indicator up in the current listings of enabled sources: its exact
 * listing and, for an IP, every listed CIDR containing it (scanned; fine for lookups).
 */
export async function lookupIndicator(db: Database, indicator: Indicator, ctx: ScoringContext): Promise<IndicatorLookup> {
  const sqlite = db.dialect === 'sqlite';
  const ph = (n: number) => (sqlite ? '?' : `$${n}`);
  const exact = await executeRaw<ListedRow>(db.em(), `${LISTED_ROWS(sqlite)} and i.type = ${ph(1)} and i.value = ${ph(2)} order by i.id`, [indicator.type, indicator.value]);
  const containedIn: ExportEntry[] = [];
  const ip = indicator.type === 'ip' ? rangeOf(indicator.value) : null;
  if (ip) {
    const cidrs = await executeRaw<ListedRow>(db.em(), `${LISTED_ROWS(sqlite)} and i.type = 'cidr' order by i.id`);
    const containing = cidrs.rows.filter((r) => {
      const range = rangeOf(r.value);
      return range !== null && range.version === ip.version && range.start <= ip.start && range.end >= ip.end;
    });
    for (const group of groupById(containing)) containedIn.push(scoreListings(group, ctx));
  }
  return {
    indicator,
    listed: exact.rows.length > 0 ? scoreListings(exact.rows, ctx) : null,
    containedIn,
    allowlisted: ctx.allowlist?.match(indicator) ?? null,
  };
}

function groupById(rows: ListedRow[]): ListedRow[][] {
  const groups = new Map<number, ListedRow[]>();
  for (const r of rows) {
    const g = groups.get(Number(r.id));
    if (g) g.push(r);
    else groups.set(Number(r.id), [r]);
  }
  return [...groups.values()];
}
