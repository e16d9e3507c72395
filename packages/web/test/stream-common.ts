// The live stream's stand-in plugin and SSE parser, shared by the tests (through stream-support.ts)
// and bench/web/sse.ts. The benchmark runs under plain node (type stripping), so this file imports
// packages by name only: no relative imports of ../src (whose `.js` names only vitest maps to `.ts`).
// Under vitest, `@tip/web` resolves to the sources anyway (the `tip-source` export condition).
import { z } from 'zod';
import { definePlugin } from '@tip/core';
import { registerStream, streamConfigSchema, type StreamConfig } from '@tip/web';

/** A stand-in for the web plugin: config key `web`, route prefix `web`, only the stream. */
export function streamPlugin() {
  return definePlugin<{ stream: StreamConfig }>({
    name: '@tip/web',
    version: '0.1.0',
    core: '^0.2.0',
    routePrefix: 'web',
    config: { key: 'web', schema: z.object({ stream: streamConfigSchema }).prefault({}) },
    register: (ctx) => {
      // the blacklist events the tests and the benchmark emit, public as the blacklist plugin declares them
      ctx.publicEvents.add(
        { name: 'blacklist.listings.changed', description: 'stand-in' },
        { name: 'blacklist.cycle.completed', description: 'stand-in' },
        { name: 'blacklist.weights.updated', description: 'stand-in' },
      );
      return registerStream(ctx);
    },
  });
}

/** One parsed SSE message. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Parses an SSE stream as its text arrives in chunks: the frames the stream writes (`id: `,
 * `event: `, `data: ` lines, `:` comments, a blank line ending each message). A message without
 * data (a comment-only frame such as the keep-alive) yields none.
 */
export class SseParser {
  #buffer = '';

  /** Adds a chunk; returns the messages it completed, and hands each comment (trimmed) to `onComment`. */
  push(chunk: string, onComment?: (comment: string) => void): SseMessage[] {
    this.#buffer += chunk;
    const messages: SseMessage[] = [];
    let i: number;
    while ((i = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, i);
      this.#buffer = this.#buffer.slice(i + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) onComment?.(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) messages.push({ id, event, data: data.join('\n') });
    }
    return messages;
  }
}
