/**
 * Feed parsers: formats, registry, body decoding and {@link parseFeed}.
 *
 * @module
 */
export * from './types.js';
export { LineReader, commonOptions, optionError, type CommonOptions } from './util.js';
export { plainParser, plainValue, type PlainOptions } from './plain.js';
export { hostsParser, isLocalHostName, type HostsOptions } from './hosts.js';
export { csvParser, tsvParser, type CsvOptions, type ColumnRef } from './csv.js';
export { dropParser, type DropOptions } from './drop.js';
export { jsonParser, MAX_JSON_DEPTH, MAX_JSON_VALUES, type JsonOptions } from './json.js';
export { compilePath, type PathStep } from './json-path.js';
export { ParserRegistry, defaultParsers } from './registry.js';
export { decodeFeedBody, MAX_ZIP_RATIO, type DecodeOptions } from './decode.js';
export { parseFeed, DEFAULT_MAX_FEED_BYTES, DEFAULT_MAX_FEED_LINES, type ParseFeedResult, type FeedDecodeLimits } from './parseFeed.js';
