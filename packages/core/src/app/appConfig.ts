import type { StandardSchemaV1 } from '@standard-schema/spec';
import { coreConfigSchema, type CoreConfig } from '../config/schema.js';
import { deepFreeze, validateConfig, type ConfigOrigins, type ConfigSection } from '../config/validate.js';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { TipPlugin } from '../plugins/types.js';

/** Top-level config keys core reads itself; plugins cannot claim them. */
const CORE_SECTIONS = ['database', 'scheduler', 'http', 'log', 'metrics', 'lifecycle'];

/** @internal What {@link validateAppConfig} returns. */
export interface AppConfig {
  /** Core's section, frozen. */
  core: Readonly<CoreConfig>;
  /** Each plugin's section by config key, frozen. */
  plugins: Map<string, unknown>;
}

/**
 * @internal Validates core's keys and every plugin's section together (all problems reported at
 * once), refusing a config key claimed twice or one of core's.
 * @throws TipError `TIP_PLUGIN_DUPLICATE`, `TIP_CONFIG_INVALID`
 */
export async function validateAppConfig(
  plugins: ReadonlyArray<TipPlugin<unknown>>,
  raw: Record<string, unknown>,
  source: string,
  origins: ConfigOrigins = {},
): Promise<AppConfig> {
  const sections: ConfigSection[] = [{ key: '', owner: '@tip/core', schema: coreConfigSchema as unknown as StandardSchemaV1 }];
  const keys = new Map<string, string>();
  for (const p of plugins) {
    if (!p.config) continue;
    const clash = keys.get(p.config.key);
    if (clash || CORE_SECTIONS.includes(p.config.key)) {
      throw new TipError(TipErrorCodes.PLUGIN_DUPLICATE, `config key "${p.config.key}" of ${p.name} is already used by ${clash ?? '@tip/core'}`, {
        details: { key: p.config.key, plugins: [p.name, clash ?? '@tip/core'] },
      });
    }
    keys.set(p.config.key, p.name);
    sections.push({ key: p.config.key, owner: p.name, schema: p.config.schema as StandardSchemaV1, unknownKeys: p.config.unknownKeys ?? 'reject' } as ConfigSection);
  }
  const values = await validateConfig(raw, sections, source, origins);
  const core = values.get('') as CoreConfig;
  for (const k of keys.keys()) delete (core as Record<string, unknown>)[k];
  const out = new Map<string, unknown>();
  for (const [k, v] of values) if (k !== '') out.set(k, deepFreeze(v ?? {}));
  return { core: deepFreeze(core), plugins: out };
}
