import { defineEntity, p, type InferEntity } from '@tip/core';
import type { IndicatorType, SourceCategory } from '../indicators/types.js';
import type { AddressMetrics } from '../weighting/metrics.js';

// Timestamps in the blacklist tables are epoch milliseconds (bigint): the ingestion hot path works
// in raw SQL on two dialects, and integers compare and index the same way on both.

/** A blacklist source (a feed, or another plugin submitting indicators). */
export const BlSourceEntity = defineEntity({
  name: 'BlSource',
  tableName: 'bl_source',
  properties: {
    id: p.string().primary().length(200),
    title: p.string().length(500),
    url: p.text().nullable(),
    format: p.string().length(50),
    category: p.string().length(50).$type<SourceCategory>(),
    license: p.text().nullable(),
    origin: p.string().length(20),
    enabled: p.boolean(),
    createdAt: p.bigint('number'),
    lastRunAt: p.bigint('number').nullable(),
    lastSuccessAt: p.bigint('number').nullable(),
    /** A submitted source's `ttl` (ms): its listings not submitted again for that long are closed by the cycle. */
    ttlMs: p.bigint('number').nullable(),
  },
});
/** A row of {@link BlSourceEntity}. */
export type BlSource = InferEntity<typeof BlSourceEntity>;

/** An indicator in canonical form; unique by (type, value). */
export const BlIndicatorEntity = defineEntity({
  name: 'BlIndicator',
  tableName: 'bl_indicator',
  uniques: [{ name: 'bl_indicator_type_value_unique', properties: ['type', 'value'] }],
  indexes: [
    { name: 'bl_indicator_addr_index', properties: ['addrLo', 'id'], where: { addrLo: { $ne: null } } },
    { name: 'bl_indicator_addr_pending_index', properties: ['id'], where: { addrLo: null } },
  ],
  properties: {
    id: p.integer().primary().autoincrement(),
    type: p.string().length(8).$type<IndicatorType>(),
    value: p.string().length(2048),
    firstSeen: p.bigint('number'),
    /** An ip/cidr's first address as a sortable key (see `addressKeys`; migration `0005-address-keys`); empty for other types, null until filled. */
    addrLo: p.string().length(33).nullable().ignoreSchemaChanges('collation'),
    /** An ip/cidr's last address as a sortable key; empty for other types, null until filled. */
    addrHi: p.string().length(33).nullable().ignoreSchemaChanges('collation'),
  },
});
/** A row of {@link BlIndicatorEntity}. */
export type BlIndicator = InferEntity<typeof BlIndicatorEntity>;

/**
 * One listing period of an indicator by a source. History is kept: when a source drops an
 * indicator the row gets `removedAt`; a later re-listing creates a new row. While a listing is
 * open (`removedAt` null) a feed's listing has a null `lastSeen`, meaning "as of the source's
 * `lastSuccessAt`" (a snapshot run confirms every listing at once); a submitted (delta) source's
 * listing carries its own `lastSeen`, set each time the indicator is submitted (migration
 * `0004-submitted-last-seen`). Readers take `coalesce(lastSeen, source.lastSuccessAt, firstSeen)`.
 * A source has at most one open listing per indicator: a partial unique index enforces it
 * (migration `0002-one-open-listing`).
 */
export const BlListingEntity = defineEntity({
  name: 'BlListing',
  tableName: 'bl_listing',
  uniques: [{ name: 'bl_listing_source_indicator_open_unique', properties: ['sourceId', 'indicatorId'], where: { removedAt: null } }],
  indexes: [
    { name: 'bl_listing_source_open_index', properties: ['sourceId', 'removedAt'] },
    { name: 'bl_listing_indicator_index', properties: ['indicatorId'] },
  ],
  properties: {
    id: p.integer().primary().autoincrement(),
    sourceId: p.string().length(200),
    indicatorId: p.integer(),
    firstSeen: p.bigint('number'),
    lastSeen: p.bigint('number').nullable(),
    removedAt: p.bigint('number').nullable(),
  },
});
/** A row of {@link BlListingEntity}. */
export type BlListing = InferEntity<typeof BlListingEntity>;

/** The outcome of one fetch+ingest of a source. */
export const BlSourceRunEntity = defineEntity({
  name: 'BlSourceRun',
  tableName: 'bl_source_run',
  indexes: [{ name: 'bl_source_run_source_started_index', properties: ['sourceId', 'startedAt'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    sourceId: p.string().length(200),
    jobRunId: p.string().length(36).nullable(),
    status: p.string().length(16),
    startedAt: p.bigint('number'),
    endedAt: p.bigint('number'),
    durationMs: p.integer(),
    httpStatus: p.integer().nullable(),
    bytes: p.bigint('number'),
    records: p.integer(),
    added: p.integer(),
    removed: p.integer(),
    unchanged: p.integer(),
    invalid: p.integer(),
    invalidSamples: p.json<Array<{ line: number; text: string; reason: string }>>().nullable(),
    error: p.text().nullable(),
  },
});
/** A row of {@link BlSourceRunEntity}. */
export type BlSourceRun = InferEntity<typeof BlSourceRunEntity>;

/** The last committed snapshot of a source (sorted keys, gzip), used to diff the next run cheaply. */
export const BlSnapshotEntity = defineEntity({
  name: 'BlSnapshot',
  tableName: 'bl_snapshot',
  properties: {
    sourceId: p.string().primary().length(200),
    count: p.integer(),
    sha256: p.string().length(64),
    data: p.type('blob'),
    deltaEntries: p.integer(),
    updatedAt: p.bigint('number'),
  },
});
/** A row of {@link BlSnapshotEntity}. */
export type BlSnapshot = InferEntity<typeof BlSnapshotEntity>;

/**
 * Changes appended to a source's snapshot since its base was written (so a 1%-churn run writes
 * 1% of the snapshot, not all of it); folded into a new base when they grow large.
 */
export const BlSnapshotDeltaEntity = defineEntity({
  name: 'BlSnapshotDelta',
  tableName: 'bl_snapshot_delta',
  indexes: [{ name: 'bl_snapshot_delta_source_index', properties: ['sourceId'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    sourceId: p.string().length(200),
    added: p.type('blob'),
    removed: p.type('blob'),
    createdAt: p.bigint('number'),
  },
});
/** A row of {@link BlSnapshotDeltaEntity}. */
export type BlSnapshotDelta = InferEntity<typeof BlSnapshotDeltaEntity>;

/** Source metrics and weight computed after a cycle; history is kept. */
export const BlSourceMetricEntity = defineEntity({
  name: 'BlSourceMetric',
  tableName: 'bl_source_metric',
  indexes: [{ name: 'bl_source_metric_source_computed_index', properties: ['sourceId', 'computedAt'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    sourceId: p.string().length(200),
    computedAt: p.bigint('number'),
    windowMs: p.bigint('number'),
    volume: p.integer(),
    exclusive: p.double(),
    latencyMedianMs: p.double().nullable(),
    persistenceMedianMs: p.double().nullable(),
    churn: p.double(),
    falsePositiveRate: p.double(),
    availability: p.double().nullable(),
    freshnessMs: p.double().nullable(),
    weight: p.double(),
    overlap: p.json<Record<string, number>>(),
    differential: p.json<Record<string, number>>(),
    /** Address-level metrics per family (migration `0003-address-metrics`; null on older rows). */
    addresses: p.json<AddressMetrics>().nullable(),
    /** Entry-level overlap on exact identity per other source (null on older rows). */
    overlapExact: p.json<Record<string, number>>().nullable(),
    latencyMeanMs: p.double().nullable(),
    /** Fingerprint of the inputs of the heavy part (JSON), to reuse it while no source changed. */
    fingerprint: p.text().nullable(),
  },
});
/** A row of {@link BlSourceMetricEntity}. */
export type BlSourceMetric = InferEntity<typeof BlSourceMetricEntity>;

/** One completed `blacklist` cycle: its listed total and changes (the web timeline). */
export const BlCycleEntity = defineEntity({
  name: 'BlCycle',
  tableName: 'bl_cycle',
  indexes: [{ name: 'bl_cycle_at_index', properties: ['at'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    /** Run id of the `blacklist` group job. */
    cycleId: p.string().length(100),
    /** When the cycle completed (epoch ms). */
    at: p.bigint('number'),
    /** Distinct indicators listed by enabled sources after the cycle. */
    listed: p.integer(),
    added: p.integer(),
    removed: p.integer(),
    sources: p.integer(),
    succeeded: p.integer(),
    failed: p.integer(),
  },
});
/** A row of {@link BlCycleEntity}. */
export type BlCycle = InferEntity<typeof BlCycleEntity>;

/** Every entity of the blacklist plugin. */
export const blacklistEntities = [BlSourceEntity, BlIndicatorEntity, BlListingEntity, BlSourceRunEntity, BlSnapshotEntity, BlSnapshotDeltaEntity, BlSourceMetricEntity, BlCycleEntity] as const;
