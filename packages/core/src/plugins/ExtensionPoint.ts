import { TipError, TipErrorCodes } from '../errors/TipError.js';

/**
 * A typed reference to an extension point, created by the plugin that owns it and exported so
 * other plugins can fill it with `ctx.extend(ref).add(item)`.
 */
export interface ExtensionPointRef<T> {
  /** Unique id, e.g. `'blacklist.parsers'`. */
  readonly id: string;
  /** Derives the unique key of an item (duplicates are rejected); default: items are not keyed. */
  readonly keyOf?: (item: T) => string;
  /** Phantom field carrying the item type; never set. */
  readonly __item?: T;
}

/** Creates an {@link ExtensionPointRef}. */
export function extensionPoint<T>(id: string, options: { keyOf?: (item: T) => string } = {}): ExtensionPointRef<T> {
  return Object.freeze({ id, keyOf: options.keyOf });
}

/** An extension point as plugins see it: add during `register`, read from `init` on. */
export interface ExtensionPoint<T> {
  /** The point's id. */
  readonly id: string;
  /** Adds items; throws `TIP_DUPLICATE_ID` when a keyed item's key is taken. */
  add(...items: T[]): void;
  /** Every item added so far, in order. */
  list(): readonly T[];
  /** The item with this key (keyed points only). */
  get(key: string): T | undefined;
}

/** The items of one extension point, remembering which plugin added each. */
export class ExtensionPointStore<T> implements ExtensionPoint<T> {
  readonly id: string;
  readonly #keyOf: ((item: T) => string) | undefined;
  readonly #items: T[] = [];
  readonly #byKey = new Map<string, { item: T; owner: string }>();
  readonly #owners = new Map<T, string>();
  #sealed = false;

  constructor(ref: ExtensionPointRef<T>) {
    this.id = ref.id;
    this.#keyOf = ref.keyOf;
  }

  /** A view that records `owner` as the adder of every item. */
  as(owner: string): ExtensionPoint<T> {
    return {
      id: this.id,
      add: (...items: T[]) => this.#add(owner, items),
      list: () => this.list(),
      get: (key: string) => this.get(key),
    };
  }

  add(...items: T[]): void {
    this.#add('app', items);
  }

  list(): readonly T[] {
    return this.#items;
  }

  get(key: string): T | undefined {
    return this.#byKey.get(key)?.item;
  }

  /** The plugin that added `item`. */
  ownerOf(item: T): string | undefined {
    return this.#owners.get(item);
  }

  /** Further additions fail (called when the app stops accepting registrations). */
  seal(): void {
    this.#sealed = true;
  }

  #add(owner: string, items: T[]): void {
    if (this.#sealed) {
      throw new TipError(TipErrorCodes.APP_STATE, `extension point "${this.id}" is closed: add items during register()`, {
        details: { point: this.id, plugin: owner },
      });
    }
    for (const item of items) {
      if (this.#keyOf) {
        const key = this.#keyOf(item);
        const existing = this.#byKey.get(key);
        if (existing) {
          throw new TipError(TipErrorCodes.DUPLICATE_ID, `${this.id}: "${key}" added by ${owner} is already added by ${existing.owner}`, {
            details: { point: this.id, key, plugin: owner, existing: existing.owner },
          });
        }
        this.#byKey.set(key, { item, owner });
      }
      this.#items.push(item);
      this.#owners.set(item, owner);
    }
  }
}
