import { TipError, TipErrorCodes, describeError } from '../errors/TipError.js';
import type { AnyPlugin } from './TipApp.js';

/**
 * @internal Runs `fn` with a time limit; a late hook fails with `TIP_PLUGIN_TIMEOUT` naming the
 * plugin and hook (the hook's promise is left to settle on its own).
 */
export async function withTimeout<T>(what: { plugin: string; hook: string }, ms: number, fn: () => Promise<T> | T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const work = Promise.resolve().then(fn);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TipError(TipErrorCodes.PLUGIN_TIMEOUT, `plugin ${what.plugin}: ${what.hook}() did not finish within ${ms} ms (lifecycle.hookTimeout)`, {
                details: { plugin: what.plugin, hook: what.hook, timeoutMs: ms },
              }),
            ),
          ms,
        );
        timer.unref?.();
      }),
    ]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}

/** @internal Wraps a hook failure in `TIP_PLUGIN_FAILED` naming the plugin and hook. */
export function pluginError(plugin: AnyPlugin, hook: string, err: unknown): TipError {
  if (err instanceof TipError && err.code === TipErrorCodes.PLUGIN_TIMEOUT) return err;
  if (err instanceof TipError && err.code !== TipErrorCodes.PLUGIN_FAILED && err.details.plugin === undefined) {
    err.details.plugin = plugin.name;
  }
  return new TipError(TipErrorCodes.PLUGIN_FAILED, `plugin ${plugin.name} failed in ${hook}(): ${describeError(err)}`, {
    cause: err,
    details: { plugin: plugin.name, hook },
  });
}

/** @internal The default route prefix of a plugin: `@tip/plugin-blacklist` → `blacklist`. */
export function defaultRoutePrefix(name: string): string {
  return name
    .replace(/^@[^/]+\//, '')
    .replace(/^(tip-plugin-|plugin-|tip-)/, '')
    .replace(/[^a-z0-9-]+/gi, '-')
    .toLowerCase();
}
