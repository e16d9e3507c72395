import type { Duration } from '@tip/core';
import type { Indicator, SourceCategory } from './indicators/types.js';

declare module '@tip/core' {
  interface TipEvents {
    /** Every blacklist feed of a cycle has ended; weights are recomputed. */
    'blacklist.cycle.completed': BlacklistCycleCompleted;
    /**
     * Submit indicators under your own source identity without importing this plugin
     * (`source` is registered on first use). Prefer `ctx.get(BlacklistToken).submit()` when you can await.
     */
    'blacklist.indicators.submitted': BlacklistIndicatorsSubmitted;
    /** A source's ingestion (feed run or submission) committed added or removed listings. */
    'blacklist.listings.changed': BlacklistListingsChanged;
    /** The cycle recomputed (and stored) the source weights. */
    'blacklist.weights.updated': BlacklistWeightsUpdated;
  }
}

/** Payload of `blacklist.listings.changed`. */
export interface BlacklistListingsChanged {
  /** The source whose listings changed. */
  source: string;
  /** The job run that ingested it (feeds; absent for submissions). */
  runId?: string;
  /** Listings opened. */
  added: number;
  /** Listings closed. */
  removed: number;
  /** Up to 20 of the values added (canonical). */
  sampleAdded: string[];
  /** Up to 20 of the values removed (canonical). */
  sampleRemoved: string[];
}

/** Payload of `blacklist.weights.updated`. */
export interface BlacklistWeightsUpdated {
  /** Run id of the `blacklist` group job that recomputed them. */
  cycleId: string;
  /** Every enabled source's new weight, by source id. */
  weights: Array<{
    /** The source id. */
    source: string;
    /** Its weight in [0, 1]. */
    weight: number;
  }>;
}

/** Payload of `blacklist.cycle.completed`. */
export interface BlacklistCycleCompleted {
  /** Run id of the `blacklist` group job. */
  cycleId: string;
  /** Feeds run in the cycle. */
  sources: number;
  /** Feeds that succeeded (or were unchanged). */
  succeeded: number;
  /** Feeds that failed or were rejected. */
  failed: number;
  /** Listings added over all feeds. */
  added: number;
  /** Listings removed over all feeds. */
  removed: number;
}

/** Payload of `blacklist.indicators.submitted`. */
export interface BlacklistIndicatorsSubmitted {
  /** The submitting source (registered on first use). */
  source: {
    /** Unique source id (letters, digits, `.`, `_`, `-`). */
    id: string;
    /** Human title shown in listings and exports. */
    title: string;
    /** What kind of threat the source lists. */
    category: SourceCategory;
    /** License or terms of the data, if any. */
    license?: string;
    /** How long an indicator stays listed without being submitted again (see `SubmittedSource.ttl`). */
    ttl?: Duration;
  };
  /** Indicators to list (strings are canonicalised; invalid ones are counted and skipped). */
  add: Array<Indicator | string>;
  /** Indicators to unlist. */
  remove?: Array<Indicator | string>;
}
