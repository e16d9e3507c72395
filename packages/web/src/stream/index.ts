import type { PluginInstance, RegisterContext } from '@tip/core';
import type { WebConfig } from '../config.js';

/**
 * Declares the live event stream (recorder, SSE and events routes, webhooks) of the web plugin.
 * Placeholder: declares nothing yet.
 */
export function registerStream(ctx: RegisterContext<WebConfig>): PluginInstance<WebConfig> | void {
  void ctx;
}
