import type { ParseSample } from './parsers/types.js';

declare module '@tip/core' {
  /**
   * What a `blacklist` source run found out while parsing, recorded with the run in
   * `bl_source_run`. Feed sources fill every field; a third-party source may fill any of them
   * (core fills `httpStatus`, `bytes`… from `run.http`).
   */
  interface SourceReport {
    /** Physical lines (or values) read from the feed. */
    lines?: number;
    /** Lines or values that were no indicator. */
    invalid?: number;
    /** A few invalid lines, as examples. */
    samples?: ParseSample[];
    /** SHA-256 of the feed body and of how it is parsed (format, options): an identical body is not parsed again (run `unchanged`). */
    contentHash?: string;
  }
}

export {};
