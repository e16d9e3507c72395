// The jobs of bench/scaleout, registered the same way by the client app (which only enqueues) and
// by every TIP worker process (which runs them).
import { definePlugin, type ChildSpec, type AnyPlugin } from '@tip/core';

/** The pg-boss schema and queue of the bare pg-boss baseline. */
export const PGBOSS_SCHEMA = 'bench_pgboss';
export const PGBOSS_QUEUE = 'bench';

/** The group job whose `n` children are `{ job: 'noop', id: 'g/<i>' }`. */
export const GROUP_JOB = 'group';

/**
 * `noop/0` … `noop/<n-1>`: manual no-op jobs, each triggered once; `noop`: the no-op job the group's
 * children run; `group`: a group of `n` children given as data.
 */
export function benchPlugin(n: number): AnyPlugin {
  const children: ChildSpec[] = Array.from({ length: n }, (_, i) => ({ job: 'noop', id: `g/${i}` }));
  return definePlugin({
    name: 'bench-scaleout',
    version: '1.0.0',
    core: '^0.2.0',
    register(ctx) {
      ctx.jobs.add({ id: 'noop', run: () => undefined });
      for (let i = 0; i < n; i++) ctx.jobs.add({ id: `noop/${i}`, run: () => undefined });
      ctx.jobs.add({ id: GROUP_JOB, children: () => children });
    },
  });
}
