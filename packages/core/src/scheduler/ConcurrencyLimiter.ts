import PQueue from 'p-queue';

/** Concurrency settings of the scheduler. */
export interface ConcurrencyOptions {
  /** Leaf runs in progress at once across the app (default 4). */
  concurrency?: number;
  /** Per-plugin caps, by plugin name (default: only the global cap applies). */
  pluginConcurrency?: Readonly<Record<string, number>>;
  /** Per-`concurrencyKey` caps (default 1 for any key not listed). */
  keyConcurrency?: Readonly<Record<string, number>>;
}

/**
 * Nested p-queues: a run first takes a slot of its concurrency key (if any), then of its plugin
 * (if capped), then a global one. Slots are only held by leaf work, never by a group waiting on its
 * children, so fan-out cannot deadlock.
 * @internal
 */
export class ConcurrencyLimiter {
  readonly #global: PQueue;
  readonly #plugins = new Map<string, PQueue>();
  readonly #keys = new Map<string, PQueue>();
  readonly #o: ConcurrencyOptions;

  /** @param options the global, per-plugin and per-key caps */
  constructor(options: ConcurrencyOptions) {
    this.#o = options;
    this.#global = new PQueue({ concurrency: positive(options.concurrency, 4) });
  }

  /**
   * Runs `fn` when a slot of its key (if any), of its plugin (if capped) and a global slot are free.
   * @param plugin the job's plugin
   * @param key the job's `concurrencyKey`
   */
  run<T>(plugin: string | undefined, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    let task: () => Promise<T> = () => this.#global.add(fn) as Promise<T>;
    const cap = plugin === undefined ? undefined : this.#o.pluginConcurrency?.[plugin];
    if (plugin !== undefined && cap !== undefined) {
      const q = queue(this.#plugins, plugin, cap);
      const inner = task;
      task = () => q.add(inner) as Promise<T>;
    }
    if (key !== undefined) {
      const q = queue(this.#keys, key, this.#o.keyConcurrency?.[key] ?? 1);
      const inner = task;
      task = () => q.add(inner) as Promise<T>;
    }
    return task();
  }

  /** Runs in progress plus queued, across all queues. */
  get size(): { running: number; queued: number } {
    return { running: this.#global.pending, queued: this.#global.size };
  }
}

function queue(map: Map<string, PQueue>, name: string, cap: number): PQueue {
  let q = map.get(name);
  if (!q) map.set(name, (q = new PQueue({ concurrency: positive(cap, 1) })));
  return q;
}

function positive(n: number | undefined, fallback: number): number {
  return n !== undefined && Number.isFinite(n) && n >= 1 ? Math.floor(n) : n === Infinity ? Infinity : fallback;
}
