import type { EntityManager } from '@tip/core';
import { TorExit } from './db.js';

/** The plugin's per-app data access: one instance per app, created in `init`. */
export class TorExitStore {
  readonly #em: () => EntityManager;

  constructor(em: () => EntityManager) {
    this.#em = em;
  }

  /**
   * Replaces what `source` lists with `ips` in one transaction: new addresses are inserted, known
   * ones refreshed, missing ones unlisted (kept with their history). Nothing changes if it throws.
   */
  async replace(source: string, ips: ReadonlySet<string>, now: Date): Promise<{ listed: number; added: number; removed: number }> {
    return this.#em().transactional(async (em) => {
      const before = new Set((await em.find(TorExit, { source, listed: true }, { fields: ['ip'] })).map((r) => r.ip));
      const gone = [...before].filter((ip) => !ips.has(ip));
      for (let i = 0; i < gone.length; i += 500) await em.nativeUpdate(TorExit, { source, ip: { $in: gone.slice(i, i + 500) } }, { listed: false });
      const rows = [...ips].map((ip) => ({ source, ip, firstSeen: now, lastSeen: now, listed: true }));
      for (let i = 0; i < rows.length; i += 500) {
        await em.upsertMany(TorExit, rows.slice(i, i + 500), { onConflictFields: ['source', 'ip'], onConflictMergeFields: ['lastSeen', 'listed'] });
      }
      let added = 0;
      for (const ip of ips) if (!before.has(ip)) added++;
      let removed = 0;
      for (const ip of before) if (!ips.has(ip)) removed++;
      return { listed: ips.size, added, removed };
    });
  }

  /** Whether `ip` is listed now (by which sources), and since when; undefined when never seen. */
  async lookup(ip: string): Promise<{ ip: string; listed: boolean; sources: string[]; firstSeen: Date; lastSeen: Date } | undefined> {
    const rows = await this.#em().find(TorExit, { ip }, { orderBy: { source: 'asc' } });
    if (rows.length === 0) return undefined;
    const listedBy = rows.filter((r) => r.listed).map((r) => r.source);
    const time = (pick: (r: (typeof rows)[number]) => Date, f: (...n: number[]) => number) => new Date(f(...rows.map((r) => pick(r).getTime())));
    return { ip, listed: listedBy.length > 0, sources: listedBy, firstSeen: time((r) => r.firstSeen, Math.min), lastSeen: time((r) => r.lastSeen, Math.max) };
  }

  /** Every address some source lists now, sorted, once each. */
  async listed(): Promise<string[]> {
    const rows = await this.#em().find(TorExit, { listed: true }, { fields: ['ip'] });
    return [...new Set(rows.map((r) => r.ip))].sort();
  }
}
