/** Allow-lists: reserved IP space, popular domains, user and MISP warninglists. */
export { Allowlist } from './allowlist.js';
export { parseMispWarninglist } from './misp.js';
export { POPULAR_DOMAINS_FILE, POPULAR_DOMAINS_LIST_NAME, loadDomainList } from './popular.js';
export { RESERVED_IPV4, RESERVED_IPV6, RESERVED_LIST_NAME, type ReservedBlock } from './reserved.js';
export type { AllowMatch, AllowlistEntryType, AllowlistOptions, AllowlistSource, BuiltInAllowlistOptions, MispWarninglist } from './types.js';
