import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';
import type { JobRunStatus } from '../scheduler/types.js';

/** Most distinct `job` label values kept before further jobs are folded into `_other`. */
const MAX_JOB_LABELS = 1000;

/**
 * The Prometheus registry of one app (never prom-client's global registry, so two apps in one
 * process do not collide) with core's job metrics. Plugins add their own metrics to `registry`.
 */
export class TipMetrics {
  /** The app's prom-client registry; expose it with `registry.metrics()`. */
  readonly registry: Registry;
  readonly #runs: Counter<'job' | 'status'>;
  readonly #duration: Histogram<'job'>;
  readonly #running: Gauge<'job'>;
  readonly #labels = new Set<string>();

  #processMetrics = false;

  /** @param defaults also collect Node process metrics (CPU, memory, event loop lag) */
  constructor(defaults = false) {
    this.registry = new Registry();
    if (defaults) this.collectProcessMetrics();
    this.#runs = new Counter({
      name: 'tip_job_runs_total',
      help: 'Job runs that ended, by job and status',
      labelNames: ['job', 'status'],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'tip_job_run_duration_seconds',
      help: 'Duration of job runs',
      labelNames: ['job'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [this.registry],
    });
    this.#running = new Gauge({
      name: 'tip_jobs_running',
      help: 'Job runs in progress',
      labelNames: ['job'],
      registers: [this.registry],
    });
  }

  /** Records that a run started. */
  jobStarted(jobId: string): void {
    this.#running.inc({ job: this.#label(jobId) });
  }

  /** Records that a run ended. */
  jobFinished(jobId: string, status: JobRunStatus, durationMs: number): void {
    const job = this.#label(jobId);
    this.#running.dec({ job });
    this.#runs.inc({ job, status });
    this.#duration.observe({ job }, durationMs / 1000);
  }

  /**
   * A counter in this app's registry (plugins use this instead of their own prom-client copy).
   * Asking twice for the same name returns the metric registered first.
   */
  counter<L extends string = string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return (this.registry.getSingleMetric(config.name) as Counter<L> | undefined) ?? new Counter({ ...config, registers: [this.registry] });
  }

  /** A gauge in this app's registry; the same name returns the metric registered first. */
  gauge<L extends string = string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return (this.registry.getSingleMetric(config.name) as Gauge<L> | undefined) ?? new Gauge({ ...config, registers: [this.registry] });
  }

  /** A histogram in this app's registry; the same name returns the metric registered first. */
  histogram<L extends string = string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return (this.registry.getSingleMetric(config.name) as Histogram<L> | undefined) ?? new Histogram({ ...config, registers: [this.registry] });
  }

  /** Also collects Node process metrics (`tip_process_*`, `tip_nodejs_*`: CPU, memory, GC, handles). Idempotent. */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    collectDefaultMetrics({ register: this.registry, prefix: 'tip_' });
  }

  /** Prometheus text exposition of every metric in the registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  #label(jobId: string): string {
    if (this.#labels.has(jobId)) return jobId;
    if (this.#labels.size >= MAX_JOB_LABELS) return '_other';
    this.#labels.add(jobId);
    return jobId;
  }
}
