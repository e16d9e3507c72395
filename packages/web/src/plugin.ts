import { CoreTokens, definePlugin, TipError, TipErrorCodes, type PluginContext, type TipPlugin, type Token } from '@tip/core';
import { z } from 'zod';
import { webCommands } from './auth/commands.js';
import { WebAuth } from './auth/WebAuth.js';
import { webConfigSchema, type WebConfig } from './config.js';
import { webEntities } from './db/entities.js';
import { webMigrations } from './db/migrations.js';
import { registerStream } from './stream/index.js';

/** The web plugin's name. */
export const WEB_PLUGIN = '@tip/web';
/** The web plugin's version. */
export const WEB_VERSION = '0.1.0';

/**
 * The web credentials store of an app: `app.get(WebToken)` (after start). Its key is a registered
 * symbol, so two copies of `@tip/web` in one process (the CLI's and a config's) find the same store.
 */
export const WebToken: Token<WebAuth> = Object.freeze({ key: Symbol.for('@tip/web/auth'), description: 'web.auth' });

/**
 * The web plugin: declares the credential tables (API tokens, UI users, sessions), the
 * `tip web token` and `tip web user` commands, the {@link WebToken} service and the live event
 * stream. Serve the app with {@link createWebServer} (or `tip run --http`).
 *
 * @param options defaults for the `web` config section (the config file's values win)
 */
export function webPlugin(options: Partial<WebConfig> = {}): TipPlugin<WebConfig> {
  const schema = z.preprocess((value) => (value === undefined || value === null ? { ...options } : typeof value === 'object' && !Array.isArray(value) ? { ...options, ...value } : value), webConfigSchema);
  return definePlugin<WebConfig>({
    name: WEB_PLUGIN,
    version: WEB_VERSION,
    core: '^0.2.0',
    routePrefix: 'web',
    config: { key: 'web', schema },

    register(ctx) {
      // This app's credentials store, created once the database is up.
      let auth: WebAuth | undefined;
      ctx.entities(...webEntities);
      ctx.migrations(...webMigrations);
      ctx.provide(WebToken, {
        useFactory: () => {
          if (!auth) throw new TipError(TipErrorCodes.APP_STATE, 'the web credentials store is available once the app started');
          return auth;
        },
      });
      ctx.commands.add(...webCommands(() => auth!));
      const stream = registerStream(ctx) ?? {};
      return {
        async init(ictx: PluginContext<WebConfig>) {
          auth = new WebAuth(ictx.db, ictx.get(CoreTokens.clock));
          await stream.init?.(ictx);
        },
        async stop(ictx: PluginContext<WebConfig>) {
          await stream.stop?.(ictx);
        },
      };
    },
  });
}
