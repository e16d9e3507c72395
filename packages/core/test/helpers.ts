import { definePlugin, type JobDefinition, type TipPlugin } from '../src/index.js';

/** A plugin that registers the given jobs (and nothing else). */
export function jobsPlugin(name: string, jobs: JobDefinition[], extra: Partial<TipPlugin<unknown>> = {}): TipPlugin<unknown> {
  return definePlugin<unknown>({
    name,
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.jobs.add(...jobs);
    },
    ...extra,
  });
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
