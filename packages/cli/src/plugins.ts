import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError, type LoadedConfig, type TipPlugin } from '@tip/core';
import { resolvePackage } from './resolve.js';

/** A plugin spec as written in a config file: a module, or a module with options. */
export type PluginSpec = string | [string, unknown];

/** A plugin module or spec that could not be loaded; the message names the spec and the config file. */
export class PluginLoadError extends Error {
  /** The module specifier as written. */
  readonly spec: string;
  /** The config file that lists it. */
  readonly configFile: string;

  constructor(spec: string, configFile: string, reason: string, cause?: unknown) {
    super(`cannot load plugin "${spec}" (listed in ${configFile}): ${reason}`, cause === undefined ? undefined : { cause });
    this.name = 'PluginLoadError';
    this.spec = spec;
    this.configFile = configFile;
  }
}

/** True when `value` looks like a {@link TipPlugin} (has a name and a `register` function). */
export function isPlugin(value: unknown): value is TipPlugin<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TipPlugin).name === 'string' &&
    typeof (value as TipPlugin).register === 'function'
  );
}

/**
 * Turns a plugin module specifier into a `file:` URL to import.
 *
 * - `./x.mjs`, `../x.js`, `/abs/x.js` (and `file:` URLs): a file, relative to the config file's folder.
 * - anything else (`@tip/plugin-blacklist`, `pkg/sub`): a package, resolved from the config file's
 *   folder up through `node_modules`, following its `exports` map with Node's `import` conditions.
 */
export function resolvePluginSpec(spec: string, configFile: string): string {
  if (spec.startsWith('file:')) return new URL(spec).href;
  const base = dirname(resolve(configFile));
  if (spec.startsWith('.') || spec.startsWith('/') || isAbsolute(spec)) return pathToFileURL(resolve(base, spec)).href;
  return pathToFileURL(resolvePackage(spec, base)).href;
}

/**
 * Loads one plugin spec: imports the module and takes its default export, which is either a plugin
 * object or a factory called with the spec's options (it may be async) that returns one.
 *
 * @throws PluginLoadError naming the spec and the config file
 */
export async function loadPluginSpec(spec: PluginSpec, configFile: string): Promise<TipPlugin<unknown>> {
  const [id, options] = typeof spec === 'string' ? [spec, undefined] : spec;
  let url: string;
  try {
    url = resolvePluginSpec(id, configFile);
  } catch (err) {
    throw new PluginLoadError(id, configFile, describeError(err), err);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new PluginLoadError(id, configFile, `importing ${url} failed: ${describeError(err)}`, err);
  }
  const exported = mod.default;
  if (exported === undefined) {
    throw new PluginLoadError(id, configFile, `${url} has no default export (export a plugin, or a function that returns one)`);
  }
  if (isPlugin(exported)) {
    if (options !== undefined) {
      throw new PluginLoadError(id, configFile, `its default export is a plugin object, not a factory, so it takes no options`);
    }
    return exported;
  }
  if (typeof exported !== 'function') {
    throw new PluginLoadError(id, configFile, `its default export is neither a plugin nor a function returning one`);
  }
  let plugin: unknown;
  try {
    plugin = await (exported as (options: unknown) => unknown)(options);
  } catch (err) {
    throw new PluginLoadError(id, configFile, `its factory failed: ${describeError(err)}`, err);
  }
  if (!isPlugin(plugin)) throw new PluginLoadError(id, configFile, `its factory did not return a plugin (an object with name and register)`);
  return plugin;
}

/**
 * Every plugin of a loaded config: the specs (imported in order) and the ready plugin objects a
 * `.ts`/`.js` config exported (a factory function there is called without options).
 */
export async function loadPlugins(loaded: Pick<LoadedConfig, 'path' | 'plugins' | 'pluginObjects'>): Promise<Array<TipPlugin<unknown>>> {
  const out: Array<TipPlugin<unknown>> = [];
  for (const spec of loaded.plugins) out.push(await loadPluginSpec(spec, loaded.path));
  for (const [i, value] of loaded.pluginObjects.entries()) {
    const plugin = typeof value === 'function' && !isPlugin(value) ? await (value as () => unknown)() : value;
    if (!isPlugin(plugin)) {
      throw new PluginLoadError(`(plugin object ${i + 1})`, loaded.path, 'not a plugin object, a module name, or [module, options]');
    }
    out.push(plugin);
  }
  return out;
}
