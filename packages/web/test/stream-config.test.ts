import { describe, expect, it } from 'vitest';
import { recordedTypes, streamConfigSchema } from '../src/stream/index.js';
import { parseTypes, matchesType, sourceOf } from '../src/stream/events.js';
import { checkWebhookUrl } from '../src/stream/webhooks.js';

describe('stream config', () => {
  it('has defaults, durations in milliseconds', () => {
    expect(streamConfigSchema.parse(undefined)).toEqual({
      types: [],
      keep: 10_000,
      pollInterval: 500,
      heartbeat: 15_000,
      maxClients: 2000,
      clientQueue: 5000,
      webhooks: { timeout: 10_000, retries: 5, backoff: 1000, maxBackoff: 3_600_000, max: 100, concurrency: 4 },
    });
    expect(streamConfigSchema.parse({ pollInterval: '2s', webhooks: { retries: 0 } })).toMatchObject({ pollInterval: 2000, webhooks: { retries: 0, timeout: 10_000 } });
    // public events first, then configured names, each once
    expect(recordedTypes(['job.finished', 'acme.x'], { types: ['acme.x', 'other.y'] })).toEqual(['job.finished', 'acme.x', 'other.y']);
  });

  it('refuses bad values, naming them', () => {
    const issues = (input: unknown) => streamConfigSchema.safeParse(input).error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(issues({ keep: 1 })).toEqual(['keep']);
    expect(issues({ pollInterval: '1ms' })).toEqual(['pollInterval']);
    expect(issues({ types: ['ok.name', 'bad name'] })).toEqual(['types.1']);
    expect(issues({ webhooks: { retries: 99 } })).toEqual(['webhooks.retries']);
  });
});

describe('filters', () => {
  it('parses exact names and prefix patterns', () => {
    const f = parseTypes('job.finished, blacklist.*');
    expect(matchesType(f, 'job.finished')).toBe(true);
    expect(matchesType(f, 'blacklist.weights.updated')).toBe(true);
    expect(matchesType(f, 'blacklistx.y')).toBe(false);
    expect(matchesType(f, 'job.started')).toBe(false);
    expect(parseTypes('')).toBeUndefined();
    expect(parseTypes('*')).toBeUndefined();
    expect(() => parseTypes('a b')).toThrow(/types: "a b" is not an event name/);
    expect(() => parseTypes(Array.from({ length: 51 }, (_, i) => `t${i}`).join(','))).toThrow(/at most 50/);
  });

  it('takes the source from data.source or data.source.id', () => {
    expect(sourceOf({ source: 'feed' })).toBe('feed');
    expect(sourceOf({ source: { id: 'custom', title: 'x' } })).toBe('custom');
    expect(sourceOf({ jobId: 'j' })).toBeNull();
    expect(sourceOf(null)).toBeNull();
  });

  it('accepts only absolute http(s) webhook URLs without credentials', () => {
    expect(checkWebhookUrl('https://hooks.example.org/tip')).toBeUndefined();
    expect(checkWebhookUrl('http://127.0.0.1:8080/x')).toBeUndefined();
    expect(checkWebhookUrl('file:///etc/passwd')).toMatch(/scheme "file" refused/);
    expect(checkWebhookUrl('gopher://x')).toMatch(/refused/);
    expect(checkWebhookUrl('/relative')).toMatch(/not an absolute URL/);
    expect(checkWebhookUrl('https://a:b@example.org/')).toMatch(/credentials/);
    expect(checkWebhookUrl(`https://example.org/${'a'.repeat(3000)}`)).toMatch(/longer than/);
  });
});
