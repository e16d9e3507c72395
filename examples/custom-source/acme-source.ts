// A third-party source plugin: it adds one blacklist source whose feed is a JSON API answer
// (`{"data":[{"indicator":"…","kind":"ip"}]}`), without touching the blacklist plugin's code.
// The blacklist plugin ingests it (diff, history, weights, exports) like any built-in feed.
// `blacklistSource()` types and checks the declaration (id, category, license, url…) and gives
// it the `blacklist` kind.
//
//   plugins: ["@tip/plugin-blacklist", ["./acme-source.ts", { "url": "https://api.acme.example/v1/bad-ips" }]]
import { definePlugin } from '@tip/core';
import { blacklistSource } from '@tip/plugin-blacklist';

/** Options of {@link acmeSource}. */
export interface AcmeSourceOptions {
  /** The API endpoint answering `{"data":[{"indicator":"…"}]}`. */
  url: string;
  /** Bearer token sent in the `authorization` header (optional). */
  token?: string;
}

/** One entry of the API's `data` array. */
interface AcmeEntry {
  indicator?: unknown;
  kind?: string;
}

/** The plugin factory: adds the `acme-bad-ips` blacklist source reading `options.url`. */
export default function acmeSource(options: AcmeSourceOptions) {
  if (!options?.url) throw new Error('acme-source: option "url" is required');
  // checked here, when the plugin is created: a bad url fails at start, naming the option
  const source = blacklistSource({
    id: 'acme-bad-ips', // it runs as child "blacklist/acme-bad-ips" of the blacklist cycle
    title: 'ACME bad IPs API',
    category: 'scanner',
    license: 'ACME customer terms',
    url: options.url,
    format: 'acme-json',
    timeout: '2m',
    async *fetch(run) {
      // run.http: timeouts, size limits, conditional GET (ETag remembered after a good commit)
      const doc = await run.http.json<{ data?: unknown }>(options.url, options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {});
      if (!doc || !Array.isArray(doc.data)) throw new Error(`acme-source: ${options.url} did not return {"data": [...]}`);
      // Raw strings are canonicalised by the blacklist plugin; invalid ones are counted.
      const entries = doc.data as Array<AcmeEntry | null>;
      yield entries.flatMap((d) => (d && typeof d.indicator === 'string' ? [d.indicator] : []));
    },
  });
  return definePlugin({
    name: '@acme/tip-source-acme',
    version: '1.0.0',
    core: '^0.2.0',
    dependsOn: ['@tip/plugin-blacklist'],
    register(ctx) {
      ctx.sources.add(source);
    },
  });
}
