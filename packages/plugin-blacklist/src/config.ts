import { durationSchema } from '@tip/core';
import { z } from 'zod';

/** Source categories (see `SourceCategory`); keys documented for the API reference. */
const CATEGORIES = {
  /** Spam senders and spam infrastructure. */
  spam: 'spam',
  /** Malware distribution. */
  malware: 'malware',
  /** Phishing sites. */
  phishing: 'phishing',
  /** Command-and-control servers. */
  c2: 'c2',
  /** Scanners and probes. */
  scanner: 'scanner',
  /** Brute-force login attackers. */
  bruteforce: 'bruteforce',
  /** Botnet members. */
  botnet: 'botnet',
  /** Compromised hosts. */
  compromised: 'compromised',
  /** General bad reputation. */
  reputation: 'reputation',
  /** Other abuse. */
  abuse: 'abuse',
  /** Anything else. */
  other: 'other',
} as const;
/** Indicator types (see `IndicatorType`). */
const INDICATOR_TYPE_VALUES = {
  /** Single IP addresses. */
  ip: 'ip',
  /** Network ranges. */
  cidr: 'cidr',
  /** Domain names. */
  domain: 'domain',
  /** URLs. */
  url: 'url',
} as const;
/** Overlap modes (see `OverlapMode`). */
const OVERLAP_MODES = {
  /** Same value, or an ip/cidr inside another source's ranges (default). */
  containment: 'containment',
  /** Same (type, value) only. */
  exact: 'exact',
} as const;

const category = z.enum(CATEGORIES);
const indicatorType = z.enum(INDICATOR_TYPE_VALUES);

/**
 * One feed to collect: a catalog entry by id (with overrides) or a full definition; its keys are
 * documented on {@link FeedConfig}.
 */
export const feedConfigSchema = z
  .object({
    /** Unique feed id: a catalog id, or your own (letters, digits, `.`, `_`, `-`; max 100). */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/i, 'letters, digits, ".", "_" or "-" (max 100)'),
    /** Base on a catalog feed (`spamhaus-drop`, …); its fields are defaults for this entry. */
    catalog: z.string().optional(),
    /** Human title (default: the catalog entry's, else the id). */
    title: z.string().max(500).optional(),
    /** Download URL, `http://` or `https://` (credentials in it are redacted wherever it is shown); required unless `catalog` provides it. */
    url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).optional(),
    /** Parser format (`plain`, `hosts`, `csv`, `tsv`, `drop`, `json` or a registered one). */
    format: z.string().optional(),
    /** Parser options (see the format's options type, e.g. `CsvOptions`). */
    options: z.record(z.string(), z.unknown()).optional(),
    /** Indicator types the feed yields, passed to the parser (default: the catalog entry's). */
    types: z.array(indicatorType).optional(),
    /** What kind of threat the feed lists (default: the catalog entry's). */
    category: category.optional(),
    /** License or terms of use of the data. */
    license: z.string().optional(),
    /** Collect this feed (default true). */
    enabled: z.boolean().default(true),
    /** Total download timeout, a duration (1s to 1d, default 10m); milliseconds once validated. */
    timeout: durationSchema({ min: '1s', max: '1d' }).optional(),
    /** Largest download in bytes (default `http.maxBytes` of core's configuration). */
    maxBytes: z.number().int().positive().optional(),
    /** This feed's shrink guard, overriding the section's `maxRemovedRatio` (0 to 1). */
    maxRemovedRatio: z.number().min(0).max(1).optional(),
    /** This feed's line cap, overriding the section's `maxLines` (a positive integer). */
    maxLines: z.number().int().positive().optional(),
  })
  .strict();

/** The `blacklist` section of the configuration; its keys are documented on {@link BlacklistConfig}. */
export const blacklistConfigSchema = z
  .object({
    /** Cycle interval of the `blacklist` group job (every feed once per cycle; at least 10s, default `1h`). */
    interval: durationSchema({ min: '10s' }).prefault('1h'),
    /** The feeds to collect. Catalog feeds are never enabled unless listed here. */
    feeds: z.array(feedConfigSchema).default([]),
    /** Refuse a run when more than this share of its lines are invalid; the previous listings stay (0 to 1, default 0.25). */
    maxInvalidRatio: z.number().min(0).max(1).default(0.25),
    /** Accept an empty feed that would remove every listing of a non-empty source (default false). */
    allowEmpty: z.boolean().default(false),
    /**
     * Refuse a run that would remove more than this share of a source's listings — a truncated or
     * partial body looks like a mass removal; the previous listings stay and the run is `rejected`.
     * Sources with fewer than 100 listings are exempt (0 to 1, default 0.4; 1 disables it).
     */
    maxRemovedRatio: z.number().min(0).max(1).default(0.4),
    /**
     * Most lines (and values yielding indicators, e.g. of a one-line JSON document) a feed body may
     * have. A body with more is refused as `rejected` while it is parsed (never truncated); the
     * previous listings stay. Bounds the time spent on a decompression bomb of repeated lines (a
     * positive integer, default 10,000,000; each feed may set its own `maxLines`).
     */
    maxLines: z.number().int().positive().default(10_000_000),
    /** How source weights are computed (see docs/blacklist-weighting.md). */
    weighting: z
      .object({
        /** Time window the source metrics look back over (at least 1h, default `30d`). */
        window: durationSchema({ min: '1h' }).prefault('30d'),
        /** How an indicator of one source counts as listed by another (default `containment`). */
        overlap: z.enum(OVERLAP_MODES).default('containment'),
        /** Term weights of the default formula (see docs/blacklist-weighting.md). */
        weights: z
          .object({
            /** Weight of `exclusive` (unique contribution) in the weighted mean. */
            exclusive: z.number().min(0),
            /** Exponent of the false-positive factor `(1 − fpr)`; 0 ignores false positives. */
            fpr: z.number().min(0),
            /** Weight of `availability` in the weighted mean. */
            availability: z.number().min(0),
            /** Weight of the freshness term in the weighted mean. */
            freshness: z.number().min(0),
            /** Weight of the persistence term in the weighted mean. */
            persistence: z.number().min(0),
            /** Weight of the latency term in the weighted mean. */
            latency: z.number().min(0),
          })
          .partial()
          .optional(),
        /** Weight of a source before its first metrics exist (0 to 1, default 0.5). */
        defaultWeight: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .prefault({}),
    /** Decay per indicator type: lifetime τ and speed δ of the MISP polynomial model (default: built-in values per type). */
    decay: z
      .partialRecord(
        indicatorType,
        z
          .object({
            /** Lifetime τ, a duration (at least 1m): the score reaches 0 at this age. */
            tau: durationSchema({ min: '1m' }),
            /** Decay speed δ > 0: above 1 drops fast early, 1 is linear, below 1 holds then drops late. */
            delta: z.number().positive(),
          })
          .strict(),
      )
      .default({}),
    /**
     * Options of the built-in export writers (checked by the writers at start): `hosts.address`,
     * `rpz.zone`/`ttl`/`serial`, `stix.identityName`, `ipset.setName`/`maxelem`,
     * `nftables.family`/`table`/`setName`, `misp.orgName`/`orgUuid`/`eventUuid`/`threatLevel`/
     * `analysis`/`toIdsMinScore`/`tags` (see docs/blacklist.md, "Exports").
     */
    export: z
      .object({
        /** `hosts` writer. */
        hosts: z
          .object({
            /** Address every domain is pointed at (default `0.0.0.0`). */
            address: z.string().optional(),
          })
          .strict()
          .optional(),
        /** `rpz` writer. */
        rpz: z
          .object({
            /** Zone origin (default: the list name when it is a DNS name, else `rpz.tip.local.`). */
            zone: z.string().optional(),
            /** `$TTL` and SOA minimum in seconds (default 300). */
            ttl: z.number().int().nonnegative().optional(),
            /** SOA serial: `unix` (default), `date` or a number. */
            serial: z.union([z.enum(['unix', 'date']), z.number().int().nonnegative()]).optional(),
          })
          .strict()
          .optional(),
        /** `stix` writer. */
        stix: z
          .object({
            /** Name of the producer identity (default `TIP`). */
            identityName: z.string().optional(),
          })
          .strict()
          .optional(),
        /** `ipset` writer. */
        ipset: z
          .object({
            /** Base name of the `-v4`/`-v6` sets (default: the list name). */
            setName: z.string().optional(),
            /** `maxelem` of the sets (default: the count rounded up to a power of two, at least 65536). */
            maxelem: z.number().int().positive().optional(),
          })
          .strict()
          .optional(),
        /** `nftables` writer. */
        nftables: z
          .object({
            /** Table family (default `inet`). */
            family: z.union([z.literal('inet'), z.literal('ip'), z.literal('ip6'), z.literal('bridge'), z.literal('netdev')]).optional(),
            /** Table holding the sets (default `tip`). */
            table: z.string().optional(),
            /** Base name of the `-v4`/`-v6` sets (default: the list name). */
            setName: z.string().optional(),
          })
          .strict()
          .optional(),
        /** `misp` writer (and the MISP feed directory). */
        misp: z
          .object({
            /** Organisation creating the event (default `TIP`). */
            orgName: z.string().optional(),
            /** Its UUID (default: derived from the name). */
            orgUuid: z.string().optional(),
            /** Event UUID (default: derived from the list name). */
            eventUuid: z.string().optional(),
            /** `threat_level_id`: 1 high … 4 undefined (default 4). */
            threatLevel: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
            /** `analysis`: 0 initial, 1 ongoing, 2 completed (default 2). */
            analysis: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
            /** Attributes get `to_ids` from this score on (default 0.5). */
            toIdsMinScore: z.number().min(0).max(1).optional(),
            /** Event tags (default `["tlp:white"]`). */
            tags: z.array(z.string()).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** Values left out of exports: built-in lists, files and extra values. */
    allowlist: z
      .object({
        /** Include the IANA special-purpose IPv4/IPv6 blocks (default true). */
        builtIn: z.boolean().default(true),
        /** Include the shipped popular-domains list (default true). */
        popularDomains: z.boolean().default(true),
        /** Files: MISP warninglist JSON (`.json`) or one value per line. Relative to the config folder (default none). */
        files: z.array(z.string()).default([]),
        /** Extra values: IPs, CIDRs, domains (default none). */
        values: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/**
 * Validated `blacklist` configuration (the output of {@link blacklistConfigSchema}): defaults
 * applied, durations in milliseconds.
 *
 * @interface
 */
export type BlacklistConfig = z.output<typeof blacklistConfigSchema>;
/**
 * A validated feed entry (the output of {@link feedConfigSchema}).
 *
 * @interface
 */
export type FeedConfig = z.output<typeof feedConfigSchema>;
