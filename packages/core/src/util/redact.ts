/**
 * Redaction of credentials in URLs and free text, so that secrets carried by feed URLs
 * (`http://user:pass@host/…`, `?apikey=…`) or by headers never reach error messages, error
 * `details`, logs or the run history.
 *
 * @module
 */

/** What a redacted secret is replaced with. */
const MASK = '***';

/**
 * Words that mark a query parameter (or a `name=value` pair in text) as secret. A name is split
 * into words at `_`, `-`, `.` and camelCase boundaries; it is secret when any word is listed here,
 * so `apikey`, `api_key`, `X-Api-Key`, `access_token`, `clientSecret`, `X-Amz-Signature` all are.
 */
const SECRET_WORDS = new Set([
  'apikey',
  'key',
  'token',
  'accesstoken',
  'secret',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'auth',
  'authorization',
  'authkey',
  'sig',
  'signature',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'jwt',
  'otp',
]);

/**
 * True when a parameter name looks like it carries a secret (see the word list above).
 *
 * @internal
 */
export function isSecretName(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    /* keep the raw name */
  }
  const words = decoded
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s_.\-[\]]+/);
  return words.some((w) => SECRET_WORDS.has(w)) || SECRET_WORDS.has(words.join(''));
}

/** Masks the values of secret-looking `name=value` pairs in a query string or fragment. */
function redactParams(params: string): string {
  return params
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0 || eq === pair.length - 1) return pair;
      return isSecretName(pair.slice(0, eq)) ? `${pair.slice(0, eq + 1)}${MASK}` : pair;
    })
    .join('&');
}

/** Masks the password of a `user:password` userinfo; the user name stays. */
function redactUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  if (colon < 0 || colon === userinfo.length - 1) return userinfo;
  return `${userinfo.slice(0, colon + 1)}${MASK}`;
}

/** `scheme://authority` then the rest (path, query, fragment). */
const SCHEME_AUTHORITY = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)([\s\S]*)$/;

/**
 * Returns `url` with its credentials replaced by `***`: the password of the userinfo (the user name
 * is kept) and the values of secret-looking query and fragment parameters (`apikey`, `api_key`,
 * `token`, `access_token`, `key`, `auth`, `password`, `secret`, `sig`, `signature`,
 * `client_secret`, …). Everything else is kept exactly as written (no normalisation), so a URL
 * without secrets comes back unchanged. Works on the text, so it never throws: an invalid URL is
 * redacted as far as it can be read. Secrets inside path segments cannot be recognised.
 *
 * @example
 * ```ts
 * redactUrl('https://bob:hunter2@feeds.example/list?apikey=abc&page=2');
 * // 'https://bob:***@feeds.example/list?apikey=***&page=2'
 * ```
 */
export function redactUrl(url: string): string {
  let head = '';
  let rest = String(url);
  const match = SCHEME_AUTHORITY.exec(rest);
  if (match) {
    const authority = match[2]!;
    const at = authority.lastIndexOf('@');
    head = match[1]! + (at < 0 ? authority : `${redactUserinfo(authority.slice(0, at))}${authority.slice(at)}`);
    rest = match[3]!;
  }
  const hash = rest.indexOf('#');
  let fragment = hash < 0 ? '' : rest.slice(hash);
  if (hash >= 0) rest = rest.slice(0, hash);
  if (fragment.includes('=')) fragment = `#${redactParams(fragment.slice(1))}`;
  const question = rest.indexOf('?');
  if (question >= 0) rest = `${rest.slice(0, question + 1)}${redactParams(rest.slice(question + 1))}`;
  return head + rest + fragment;
}

/** A URL with a scheme inside free text: up to whitespace, a quote or an angle bracket. */
const URL_IN_TEXT = /\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s"'`<>]+/g;
/** An `Authorization:`-style header (or `authorization=`) and its credentials. */
const AUTH_HEADER = /\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token)(["']?\s*[:=]\s*["']?)(?:(bearer|basic|digest|token|negotiate)\s+)?([^\s"',;]+)/gi;
/** A bearer token anywhere. */
const BEARER = /\b(bearer)\s+([A-Za-z0-9\-._~+/]{6,}=*)/gi;
/** A `name=value` pair outside URLs (`password=…` in a connection string, `token=…` in a message). */
const PAIR = /(^|[\s?&;,(])([A-Za-z][A-Za-z0-9_.-]*)=([^\s&;,)"'`]+)/g;

/**
 * Redacts secrets in free text (error messages, log lines, stored run errors): every URL in it goes
 * through {@link redactUrl}; `Authorization:` / `Proxy-Authorization:` / `X-Api-Key:` header values
 * and `Bearer …` tokens become `***` (the scheme word is kept); secret-looking `name=value` pairs
 * (`password=…`, `token=…`) are masked too. Never throws; text without secrets comes back unchanged.
 *
 * @example
 * ```ts
 * redactSecrets('GET https://u:pw@h/x?token=t failed; Authorization: Bearer abc.def');
 * // 'GET https://u:***@h/x?token=*** failed; Authorization: Bearer ***'
 * ```
 */
export function redactSecrets(text: string): string {
  return String(text)
    .replace(URL_IN_TEXT, (url) => redactUrl(url))
    .replace(AUTH_HEADER, (_all, name: string, sep: string, scheme: string | undefined) =>
      `${name}${sep}${scheme === undefined ? '' : `${scheme} `}${MASK}`,
    )
    .replace(BEARER, (_all, word: string) => `${word} ${MASK}`)
    .replace(PAIR, (all, lead: string, name: string) => (isSecretName(name) ? `${lead}${name}=${MASK}` : all));
}
