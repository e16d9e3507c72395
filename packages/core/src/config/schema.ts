import { z } from 'zod';

const duration = z.union([z.number().nonnegative(), z.string().regex(/^(\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w))+\s*$/i, 'a duration like "30s", "5m", "1h30m"')]);
const positiveInt = z.number().int().positive();

/** The schema of core's own configuration keys. Plugins' keys sit beside these. */
export const coreConfigSchema = z
  .object({
    database: z
      .object({
        url: z.string().min(1).default('sqlite:./data/tip.sqlite'),
        autoMigrate: z.boolean().default(true),
        poolSize: positiveInt.max(200).default(10),
      })
      .strict()
      .prefault({}),
    scheduler: z
      .object({
        enabled: z.boolean().default(true),
        concurrency: positiveInt.max(1024).default(4),
        pluginConcurrency: z.record(z.string(), positiveInt).default({}),
        keyConcurrency: z.record(z.string(), positiveInt).default({}),
        defaultTimeout: duration.optional(),
        drainTimeout: duration.default('30s'),
        historyRetention: duration.default('30d'),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        connectTimeout: duration.default('10s'),
        timeout: duration.default('2m'),
        maxBytes: positiveInt.default(256 * 1024 * 1024),
        maxRedirects: z.number().int().min(0).max(20).default(5),
        userAgent: z.string().optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    metrics: z.object({ processMetrics: z.boolean().default(false) }).strict().prefault({}),
    lifecycle: z
      .object({
        /** Longest a plugin's `init` or `stop` hook may take before start/stop fails naming the plugin and hook. */
        hookTimeout: duration.default('60s'),
        /** Longest services get to return after the app asked them to stop. */
        serviceStopTimeout: duration.default('30s'),
      })
      .strict()
      .prefault({}),
    /** Directory relative paths in the config are resolved against (set by the CLI to the config file's folder). */
    baseDir: z.string().optional(),
  })
  .passthrough();

/** Core's validated configuration. */
export type CoreConfig = z.output<typeof coreConfigSchema>;
/** What users may write for core's keys (everything has a default). */
export type CoreConfigInput = z.input<typeof coreConfigSchema>;
