import { TipError, TipErrorCodes } from '@tip/core';
import type { FeedConfig } from '../config.js';
import { catalogFeed } from './catalog.js';

/** A feed entry merged with its catalog defaults: everything a feed source needs. */
export type ResolvedFeed = Required<Pick<FeedConfig, 'id' | 'url' | 'format' | 'category'>> & FeedConfig & { title: string; license?: string };

/**
 * Merges a feed entry with its catalog defaults and checks it is complete.
 * @throws TipError `TIP_CONFIG_INVALID` naming the feed for an unknown catalog entry or a missing url/format/category
 */
export function resolveFeed(feed: FeedConfig): ResolvedFeed {
  const base = feed.catalog ? catalogFeed(feed.catalog) : undefined;
  if (feed.catalog && !base) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `blacklist.feeds: feed "${feed.id}" names unknown catalog entry "${feed.catalog}"`, { details: { path: 'blacklist.feeds', feed: feed.id } });
  }
  const merged = {
    ...feed,
    title: feed.title ?? base?.title ?? feed.id,
    url: feed.url ?? base?.url,
    format: feed.format ?? base?.format,
    options: feed.options ?? (base?.options as Record<string, unknown> | undefined),
    types: feed.types ?? (base ? [...base.types] : undefined),
    category: feed.category ?? base?.category,
    license: feed.license ?? base?.license,
  };
  const missing = (['url', 'format', 'category'] as const).filter((k) => !merged[k]);
  if (missing.length) {
    throw new TipError(TipErrorCodes.CONFIG_INVALID, `blacklist.feeds: feed "${feed.id}" needs ${missing.join(', ')} (or a catalog entry that has them)`, {
      details: { path: 'blacklist.feeds', feed: feed.id, missing },
    });
  }
  return merged as ResolvedFeed;
}
