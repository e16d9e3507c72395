/**
 * `@tip/web`: the HTTP API (Fastify, OpenAPI), the live event stream, webhooks and the browser UI
 * over a TIP deployment.
 *
 * ```ts
 * const app = createTip({ plugins: [blacklist(), webPlugin()], config });
 * await app.start({ mode: 'serve' });
 * const server = await createWebServer(app, { port: 8080 });
 * console.log(`TIP is running at ${await server.listen()}`);
 * ```
 * @packageDocumentation
 */
import { webPlugin } from './plugin.js';

export { webPlugin, WebToken, WEB_PLUGIN, WEB_VERSION } from './plugin.js';
export { webConfigSchema, type WebConfig } from './config.js';
export { createWebServer, isLoopback, NO_CREDENTIALS_MESSAGE, SESSION_COOKIE, type WebServer, type WebServerOptions } from './server.js';
export {
  WebAuth,
  hashPassword,
  verifyPassword,
  safeEqual,
  type WebScope,
  type WebTokenInfo,
  type CreatedWebToken,
  type WebUserInfo,
  type WebPrincipal,
  type WebSession,
} from './auth/WebAuth.js';
export * from './stream/index.js';
export { buildOpenApi, toJsonSchema, type OpenApiInfo, type JsonSchema } from './openapi.js';

/** The web plugin (same as {@link webPlugin}). */
export default webPlugin;
