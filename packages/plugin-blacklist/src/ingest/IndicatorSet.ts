import type { Indicator, IndicatorType } from '../indicators/types.js';
import { runSliced, runToEnd, type Steps, type Yielder } from './Yielder.js';

/**
 * A set of indicators kept as one `Set<string>` of values per type. Values stay the flat strings
 * the parser produced — no `type + value` concatenation, which would cost a string flattening per
 * hash lookup on a million-entry diff.
 */
export class IndicatorSet {
  readonly #byType = new Map<IndicatorType, Set<string>>();
  #size = 0;

  /** Number of indicators. */
  get size(): number {
    return this.#size;
  }

  /** Adds an indicator; returns false when it was already there. */
  add(type: IndicatorType, value: string): boolean {
    let set = this.#byType.get(type);
    if (!set) this.#byType.set(type, (set = new Set()));
    const before = set.size;
    set.add(value);
    if (set.size === before) return false;
    this.#size++;
    return true;
  }

  /** Removes an indicator; returns false when it was not there. */
  delete(type: IndicatorType, value: string): boolean {
    const removed = this.#byType.get(type)?.delete(value) ?? false;
    if (removed) this.#size--;
    return removed;
  }

  /** True when the indicator is in the set. */
  has(type: IndicatorType, value: string): boolean {
    return this.#byType.get(type)?.has(value) ?? false;
  }

  /** The values of one type. */
  values(type: IndicatorType): ReadonlySet<string> {
    return this.#byType.get(type) ?? EMPTY;
  }

  /** The types present. */
  types(): IndicatorType[] {
    return [...this.#byType.keys()];
  }

  /** Every indicator (type by type). */
  *[Symbol.iterator](): Iterator<Indicator> {
    for (const [type, set] of this.#byType) for (const value of set) yield { type, value };
  }

  /** Indicators of `this` missing from `other` (`this` itself when `other` is empty: do not mutate the result). */
  minus(other: IndicatorSet): IndicatorSet {
    if (other.#size === 0) return this;
    const out = new IndicatorSet();
    for (const [type, set] of this.#byType) {
      const o = other.#byType.get(type);
      for (const v of set) if (!o || !o.has(v)) out.add(type, v);
    }
    return out;
  }

  /**
   * Diffs `next` against this set **consuming this set**: every indicator also in `next` is
   * deleted from it, so afterwards it holds exactly the removed ones. One pass over `next`
   * instead of two full passes; use it on a previous snapshot that is about to be replaced.
   */
  consumeDiff(next: IndicatorSet): {
    /** Indicators in `next` that were not in this set. */
    added: IndicatorSet;
    /** Indicators of this set that are not in `next` (this set itself, emptied of the kept ones). */
    removed: IndicatorSet;
  } {
    return runToEnd(this.#consumeDiffSteps(next, () => false));
  }

  /**
   * {@link IndicatorSet.consumeDiff} cut into slices by `y`, so the event loop keeps turning
   * during a million-entry diff. Same result and same consumption of this set.
   * @internal
   */
  consumeDiffAsync(next: IndicatorSet, y: Yielder): Promise<{ added: IndicatorSet; removed: IndicatorSet }> {
    return runSliced(this.#consumeDiffSteps(next, () => y.due()), y);
  }

  *#consumeDiffSteps(next: IndicatorSet, due: () => boolean): Steps<{ added: IndicatorSet; removed: IndicatorSet }> {
    if (this.#size === 0) return { added: next, removed: this };
    const added = new IndicatorSet();
    for (const [type, set] of next.#byType) {
      const prev = this.#byType.get(type);
      for (const v of set) {
        if (prev && prev.delete(v)) this.#size--;
        else added.add(type, v);
        if (due()) yield;
      }
    }
    return { added, removed: this };
  }

  /** Adds every indicator of `other` (or removes them, with `remove`), yielding to the event loop through `y`. @internal */
  async mergeAsync(other: IndicatorSet, y: Yielder, remove = false): Promise<void> {
    for (const [type, set] of other.#byType) {
      for (const v of set) {
        if (remove) this.delete(type, v);
        else this.add(type, v);
        if (y.due()) await y.pause();
      }
    }
  }

  /** {@link IndicatorSet.serialize} cut into slices by `y` (same text). @internal */
  serializeAsync(y: Yielder): Promise<string> {
    return runSliced(this.#serializeSteps(() => y.due()), y);
  }

  *#serializeSteps(due: () => boolean): Steps<string> {
    const pieces: string[] = [];
    let parts: string[] = [];
    for (const [type, set] of this.#byType) {
      if (set.size === 0) continue;
      parts.push(`#${type}`);
      for (const v of set) {
        parts.push(v);
        if (parts.length >= SERIALIZE_PIECE) {
          pieces.push(parts.join('\n'));
          parts = [];
          if (due()) yield;
        }
      }
    }
    if (parts.length > 0) pieces.push(parts.join('\n'));
    return pieces.join('\n');
  }

  /**
   * Compact text form: for each type a line `#<type>` followed by its values, one per line
   * (canonical values never contain newlines or start with `#`).
   */
  serialize(): string {
    return runToEnd(this.#serializeSteps(() => false));
  }

  /** Reads {@link IndicatorSet.serialize} output. */
  static parse(text: string): IndicatorSet {
    return runToEnd(IndicatorSet.#parseSteps(text, () => false));
  }

  /** {@link IndicatorSet.parse} cut into slices by `y` (same result). @internal */
  static parseAsync(text: string, y: Yielder): Promise<IndicatorSet> {
    return runSliced(IndicatorSet.#parseSteps(text, () => y.due()), y);
  }

  static *#parseSteps(text: string, due: () => boolean): Steps<IndicatorSet> {
    const out = new IndicatorSet();
    let type: IndicatorType | undefined;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      if (line.charCodeAt(0) === 35 /* # */) type = line.slice(1) as IndicatorType;
      else if (type && line.length > 0) out.add(type, line);
      start = end + 1;
      if (due()) yield;
    }
    return out;
  }

  /** A set of `indicators` (the set itself when it already is one), built in slices cut by `y`. @internal */
  static async fromAsync(indicators: Iterable<Indicator>, y: Yielder): Promise<IndicatorSet> {
    if (indicators instanceof IndicatorSet) return indicators;
    const set = new IndicatorSet();
    for (const ind of indicators) {
      set.add(ind.type, ind.value);
      if (y.due()) await y.pause();
    }
    return set;
  }
}

/** Values joined per piece by {@link IndicatorSet.serializeAsync}. */
const SERIALIZE_PIECE = 16_384;

const EMPTY: ReadonlySet<string> = new Set();
