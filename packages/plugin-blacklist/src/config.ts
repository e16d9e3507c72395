import { durationSchema } from '@tip/core';
import { z } from 'zod';

const category = z.enum(['spam', 'malware', 'phishing', 'c2', 'scanner', 'bruteforce', 'botnet', 'compromised', 'reputation', 'abuse', 'other']);
const indicatorType = z.enum(['ip', 'cidr', 'domain', 'url']);

/** One feed to collect: a catalog entry by id (with overrides) or a full definition. */
export const feedConfigSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/i, 'letters, digits, ".", "_" or "-" (max 100)'),
    /** Base on a catalog feed (`spamhaus-drop`, …); its fields are defaults for this entry. */
    catalog: z.string().optional(),
    title: z.string().max(500).optional(),
    /** `http://` or `https://` (credentials in it are redacted wherever it is shown). */
    url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).optional(),
    format: z.string().optional(),
    options: z.record(z.string(), z.unknown()).optional(),
    types: z.array(indicatorType).optional(),
    category: category.optional(),
    license: z.string().optional(),
    enabled: z.boolean().default(true),
    timeout: durationSchema({ min: '1s', max: '1d' }).optional(),
    maxBytes: z.number().int().positive().optional(),
  })
  .strict();

/** The `blacklist` section of the configuration. */
export const blacklistConfigSchema = z
  .object({
    /** Cycle interval of the `blacklist` group job (every feed once per cycle). */
    interval: durationSchema({ min: '10s' }).prefault('1h'),
    /** The feeds to collect. Catalog feeds are never enabled unless listed here. */
    feeds: z.array(feedConfigSchema).default([]),
    /** Refuse a run when more than this share of its lines are invalid; the previous listings stay. */
    maxInvalidRatio: z.number().min(0).max(1).default(0.25),
    /** Accept an empty feed that would remove every listing of a non-empty source. */
    allowEmpty: z.boolean().default(false),
    weighting: z
      .object({
        window: durationSchema({ min: '1h' }).prefault('30d'),
        overlap: z.enum(['containment', 'exact']).default('containment'),
        /** Term weights of the default formula (see docs/blacklist-weighting.md). */
        weights: z
          .object({
            exclusive: z.number().min(0),
            fpr: z.number().min(0),
            availability: z.number().min(0),
            freshness: z.number().min(0),
            persistence: z.number().min(0),
            latency: z.number().min(0),
          })
          .partial()
          .optional(),
        /** Weight of a source before its first metrics exist. */
        defaultWeight: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .prefault({}),
    /** Decay per indicator type: lifetime τ and speed δ of the MISP polynomial model. */
    decay: z.partialRecord(indicatorType, z.object({ tau: durationSchema({ min: '1m' }), delta: z.number().positive() }).strict()).default({}),
    allowlist: z
      .object({
        builtIn: z.boolean().default(true),
        popularDomains: z.boolean().default(true),
        /** Files: MISP warninglist JSON (`.json`) or one value per line. Relative to the config folder. */
        files: z.array(z.string()).default([]),
        /** Extra values: IPs, CIDRs, domains. */
        values: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Validated `blacklist` configuration. */
export type BlacklistConfig = z.output<typeof blacklistConfigSchema>;
/** A validated feed entry. */
export type FeedConfig = z.output<typeof feedConfigSchema>;
