/**
 * `@tip/web`: the HTTP API (Fastify, OpenAPI), the live event stream, webhooks and the browser UI
 * over a TIP deployment.
 * @packageDocumentation
 */
export {};
