import { z } from 'zod';

/**
 * The `web.stream` config section (live event stream and webhooks). Placeholder until the stream
 * module defines its keys: accepts any object.
 */
export const streamConfigSchema = z.object({}).passthrough().default({});
