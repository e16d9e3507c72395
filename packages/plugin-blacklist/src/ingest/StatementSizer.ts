/**
 * Sizes SQLite bulk statements. better-sqlite3 runs a statement synchronously, holding the event
 * loop for all of it, and its cost per row grows with the tables (index pages fall out of the
 * cache): `bench/blacklist/loop.ts` measured 50 000-row statements at 250–500 ms and fixed
 * 5000-row ones at up to 190 ms on a million-row table. So the size adapts after every statement
 * to take about {@link StatementSizer.TARGET_MS}; the ingester yields between statements.
 */
export class StatementSizer {
  /** Wanted duration of one statement, in ms. */
  static readonly TARGET_MS = 30;
  /** Rows of the next statement. */
  size = 2_000;

  /** Learns from a statement of `rows` rows that took `ms`: the next size aims at the target. */
  fit(rows: number, ms: number): void {
    if (rows < this.size / 2) return; // a short tail says little
    const ideal = (rows * StatementSizer.TARGET_MS) / Math.max(ms, 0.5);
    this.size = Math.round(Math.min(20_000, Math.max(1000, (this.size + ideal) / 2)));
  }
}
