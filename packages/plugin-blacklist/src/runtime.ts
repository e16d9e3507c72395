import { TipError, TipErrorCodes, type Clock } from '@tip/core';
import type { BlacklistMetrics } from './metrics.js';
import { ParserRegistry } from './parsers/registry.js';
import type { BlacklistService } from './service/BlacklistService.js';

/**
 * Everything the blacklist plugin holds for one app: created in `register`, filled in `init`.
 * One plugin object passed to two apps gets two runtimes, so their data never mix.
 */
export class BlacklistRuntime {
  /** Feed formats of this app (the `blacklistParsers` extension point, copied at init). */
  readonly registry = new ParserRegistry();
  #service: BlacklistService | undefined;
  #clock: Clock | undefined;
  #metrics: BlacklistMetrics | undefined;

  /** Called from `init` once the database is open. */
  ready(parts: { service: BlacklistService; clock: Clock; metrics: BlacklistMetrics }): void {
    this.#service = parts.service;
    this.#clock = parts.clock;
    this.#metrics = parts.metrics;
  }

  /** This app's service. @throws TipError `TIP_APP_STATE` before `init` */
  service(): BlacklistService {
    if (!this.#service) throw new TipError(TipErrorCodes.APP_STATE, 'the blacklist service is not initialised yet');
    return this.#service;
  }

  /** The scheduler's clock. @throws TipError `TIP_APP_STATE` before `init` */
  clock(): Clock {
    if (!this.#clock) throw new TipError(TipErrorCodes.APP_STATE, 'the blacklist plugin is not initialised yet');
    return this.#clock;
  }

  /** This app's blacklist metrics (undefined before `init`). */
  get metrics(): BlacklistMetrics | undefined {
    return this.#metrics;
  }
}
