import semver from 'semver';
import { TipError, TipErrorCodes } from '../errors/TipError.js';

/** The metadata ordering needs. */
export interface PluginMeta {
  /** The plugin's unique name (usually its npm package name). */
  readonly name: string;
  /** The plugin's own version (semver). */
  readonly version: string;
  /** Semver range of `@tip/core` versions the plugin works with. */
  readonly core: string;
  /** Names of plugins that must be loaded before this one (default none). */
  readonly dependsOn?: readonly string[];
}

/**
 * Checks names, core compatibility and dependencies, and returns the plugins in dependency order
 * (a plugin after everything it depends on; otherwise the given order is kept).
 *
 * @throws TipError `TIP_PLUGIN_DUPLICATE`, `TIP_PLUGIN_INCOMPATIBLE`, `TIP_PLUGIN_MISSING` or
 *   `TIP_PLUGIN_CYCLE`, naming every plugin involved
 */
export function orderPlugins<P extends PluginMeta>(plugins: readonly P[], coreVersion: string): P[] {
  const byName = new Map<string, P>();
  for (const p of plugins) {
    if (!p || typeof p.name !== 'string' || p.name.length === 0) {
      throw new TipError(TipErrorCodes.PLUGIN_FAILED, `a plugin has no name (got ${JSON.stringify(p)?.slice(0, 100)})`);
    }
    if (byName.has(p.name)) {
      throw new TipError(TipErrorCodes.PLUGIN_DUPLICATE, `plugin "${p.name}" is installed twice`, { details: { plugin: p.name } });
    }
    byName.set(p.name, p);
  }
  const incompatible = plugins.filter((p) => {
    const range = semver.validRange(p.core);
    return range === null || !semver.satisfies(coreVersion, range, { includePrerelease: true });
  });
  if (incompatible.length > 0) {
    const list = incompatible.map((p) => `${p.name}@${p.version} (needs @tip/core ${p.core})`).join(', ');
    throw new TipError(TipErrorCodes.PLUGIN_INCOMPATIBLE, `incompatible with @tip/core ${coreVersion}: ${list}`, {
      details: { coreVersion, plugins: incompatible.map((p) => ({ name: p.name, version: p.version, core: p.core })) },
    });
  }
  const missing: Array<{ plugin: string; missing: string }> = [];
  for (const p of plugins) for (const d of p.dependsOn ?? []) if (!byName.has(d)) missing.push({ plugin: p.name, missing: d });
  if (missing.length > 0) {
    const list = missing.map((m) => `${m.plugin} needs ${m.missing}`).join(', ');
    throw new TipError(TipErrorCodes.PLUGIN_MISSING, `missing plugin dependencies: ${list}`, { details: { missing } });
  }
  const out: P[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (p: P): void => {
    const s = state.get(p.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(p.name)), p.name];
      throw new TipError(TipErrorCodes.PLUGIN_CYCLE, `plugin dependency cycle: ${cycle.join(' -> ')}`, { details: { cycle } });
    }
    state.set(p.name, 'visiting');
    stack.push(p.name);
    for (const d of p.dependsOn ?? []) visit(byName.get(d)!);
    stack.pop();
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of plugins) visit(p);
  return out;
}
