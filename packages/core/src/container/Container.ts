import 'reflect-metadata';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { TipError, TipErrorCodes } from '../errors/TipError.js';

/**
 * A typed key into an app's container. Create one with {@link token} and export it from the
 * package that provides the service, so other plugins can `ctx.get(it)` with full typing.
 */
export interface Token<T> {
  /** Unique key used by the container. */
  readonly key: symbol;
  /** Human name, used in error messages. */
  readonly description: string;
  /** Phantom field carrying the service type; never set. */
  readonly __type?: T;
}

/** Creates a typed {@link Token}. */
export function token<T>(description: string): Token<T> {
  return Object.freeze({ key: Symbol(description), description });
}

/** How a token is satisfied: a ready value, or a factory called once on first use. */
export type Provider<T> =
  | {
      /** The ready value. */
      useValue: T;
    }
  | {
      /** Builds the value from the container; called once, on first resolution. */
      useFactory: (c: TipContainer) => T;
    };

/**
 * One app's dependency-injection container: a tsyringe child container, never the global one, so
 * two apps in one process share nothing.
 */
export class TipContainer {
  readonly #c: DependencyContainer;
  readonly #names = new Map<symbol, string>();

  constructor(parent?: TipContainer) {
    this.#c = (parent ? parent.#c : rootContainer).createChildContainer();
  }

  /** Registers a provider for a token. A token can be provided once per container. */
  provide<T>(t: Token<T>, provider: Provider<T>): void {
    if (this.#names.has(t.key)) {
      throw new TipError(TipErrorCodes.DUPLICATE_ID, `token "${t.description}" is already provided`, {
        details: { token: t.description },
      });
    }
    this.#names.set(t.key, t.description);
    if ('useValue' in provider) this.#c.register(t.key, { useValue: provider.useValue });
    else this.#c.register(t.key, { useFactory: instanceCachingFactory(() => provider.useFactory(this)) });
  }

  /** True when the token is provided in this container. */
  has<T>(t: Token<T>): boolean {
    return this.#names.has(t.key);
  }

  /**
   * Resolves a token.
   * @throws TipError `TIP_TOKEN_MISSING` naming the token when nothing provides it
   */
  get<T>(t: Token<T>): T {
    if (!this.#names.has(t.key)) {
      throw new TipError(TipErrorCodes.TOKEN_MISSING, `nothing provides token "${t.description}"`, {
        details: { token: t.description },
      });
    }
    return this.#c.resolve<T>(t.key);
  }

  /** Drops every registration (called when the app stops). */
  dispose(): void {
    this.#c.reset();
    this.#names.clear();
  }
}
