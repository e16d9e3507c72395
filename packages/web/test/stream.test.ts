import { describe, expect, it } from 'vitest';
import { tempDatabase, testDialects } from '@tip/core/testing';
import { api, closeAfterEach, emit, SseClient, startStreamApp, waitFor, type StreamTestApp } from './stream-support.js';

const { track, closeAll } = closeAfterEach();
const start = async (...args: Parameters<typeof startStreamApp>) => track(await startStreamApp(...args));
const sse = async (url: string, headers?: Record<string, string>) => track(await SseClient.open(url, headers));
const changed = (source: string, added = 1) => ({ source, added, removed: 0, sampleAdded: [], sampleRemoved: [] });
type Page = { events: Array<{ seq: number; type: string; data: Record<string, unknown> }>; next: number | null };

/** Waits until every listed event is in the log (events are recorded asynchronously). */
async function logged(t: StreamTestApp, n: number): Promise<Page['events']> {
  let events: Page['events'] = [];
  await waitFor(async () => {
    events = (await api<Page>(t.url, 'GET', '/events?after=0&limit=1000')).body.events;
    return events.length >= n;
  }, `${n} logged events`);
  return events;
}

describe.each(testDialects())('web stream on %s', (dialect) => {
  it('streams events in order, filtered by type (prefix) and source', async () => {
    const t = await start({ database: dialect });
    const all = await sse(`${t.url}/api/web/stream`);
    const bl = await sse(`${t.url}/api/web/stream?types=blacklist.*`);
    const exact = await sse(`${t.url}/api/web/stream?types=job.finished,blacklist.weights.updated`);
    const src = await sse(`${t.url}/api/web/stream?source=feed-a&plain=1`);
    expect(all.status).toBe(200);
    expect(all.res!.headers['content-type']).toContain('text/event-stream');
    await all.until((c) => c.comments.includes('connected'), 'the connected comment');

    await emit(t.app, 'blacklist.listings.changed', changed('feed-a'));
    await emit(t.app, 'job.finished', { jobId: 'j', runId: 'r1', status: 'succeeded', durationMs: 5 });
    await emit(t.app, 'blacklist.listings.changed', changed('feed-b', 2));
    await emit(t.app, 'blacklist.weights.updated', { cycleId: 'c1', weights: [{ source: 'feed-a', weight: 0.5 }] });
    await emit(t.app, 'tip.unrecorded', { source: 'feed-a' }); // not a recorded type
    for (let i = 0; i < 20; i++) await emit(t.app, 'job.finished', { jobId: 'j', runId: `n${i}`, status: 'succeeded', durationMs: i });

    await all.until((c) => c.messages.length >= 24, '24 events');
    const seqs = all.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(24);
    expect(all.messages.map((m) => Number(m.id))).toEqual(seqs);
    expect(all.messages.slice(0, 4).map((m) => m.event)).toEqual(['blacklist.listings.changed', 'job.finished', 'blacklist.listings.changed', 'blacklist.weights.updated']);
    expect(all.events.slice(20).map((e) => e.data.runId)).toEqual(['n16', 'n17', 'n18', 'n19']);
    expect(all.events[0]!.data).toEqual(changed('feed-a'));
    expect(typeof all.events[0]!.at).toBe('string');

    await bl.until((c) => c.messages.length >= 3, '3 blacklist events');
    expect(bl.messages.map((m) => m.event)).toEqual(['blacklist.listings.changed', 'blacklist.listings.changed', 'blacklist.weights.updated']);
    await exact.until((c) => c.messages.length >= 22, '22 exact-type events');
    expect(exact.messages.every((m) => m.event === 'job.finished' || m.event === 'blacklist.weights.updated')).toBe(true);
    await src.until((c) => c.messages.length >= 1, 'the feed-a event');
    await all.until(() => true, '');
    expect(src.events.map((e) => e.data.source)).toEqual(['feed-a']);
    expect(src.messages.map((m) => m.event)).toEqual(['message']); // plain=1: no `event:` line

    // the JSON log page agrees with the stream
    const page = await api<Page>(t.url, 'GET', '/events?types=blacklist.*&limit=2');
    expect(page.status).toBe(200);
    expect(page.body.events.map((e) => e.type)).toEqual(['blacklist.listings.changed', 'blacklist.weights.updated']);
    const after = await api<Page>(t.url, 'GET', `/events?after=${seqs[0]}&limit=2&source=feed-b`);
    expect(after.body.events.map((e) => e.data.source)).toEqual(['feed-b']);
    expect((await api(t.url, 'GET', '/events?types=bad%20name')).status).toBe(400);
    expect((await api(t.url, 'GET', '/events?limit=0')).status).toBe(400);
    expect((await api(t.url, 'GET', '/events?after=-1')).status).toBe(400);
  });

  it('replays exactly the missed events after Last-Event-ID, then goes live', async () => {
    const t = await start({ database: dialect });
    const first = await sse(`${t.url}/api/web/stream`);
    await first.until((c) => c.comments.includes('connected'), 'connected');
    for (let i = 0; i < 3; i++) await emit(t.app, 'job.finished', { jobId: 'j', runId: `a${i}`, status: 'succeeded', durationMs: 1 });
    await first.until((c) => c.messages.length >= 3, '3 events');
    first.close();
    const lastId = first.messages[2]!.id!;

    for (let i = 0; i < 7; i++) await emit(t.app, 'job.finished', { jobId: 'j', runId: `b${i}`, status: 'succeeded', durationMs: 1 });
    await logged(t, 10);

    const again = await sse(`${t.url}/api/web/stream`, { 'last-event-id': lastId });
    await again.until((c) => c.messages.length >= 7, '7 replayed events');
    await emit(t.app, 'job.finished', { jobId: 'j', runId: 'live', status: 'succeeded', durationMs: 1 });
    await again.until((c) => c.messages.length >= 8, 'the live event');
    expect(again.events.map((e) => e.data.runId)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'live']);

    // ?lastEventId= works too (EventSource cannot set headers on the first connection), with filters
    const q = await sse(`${t.url}/api/web/stream?lastEventId=${lastId}&types=job.*`);
    await q.until((c) => c.messages.length >= 8, '8 replayed events');
    expect(q.events.map((e) => e.data.runId)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'live']);
  });

  it("reaches the web process's stream from a worker process on the same database", async () => {
    const db = await tempDatabase(dialect);
    try {
      const web = await start({ database: db, role: 'web' });
      const worker = await start({ database: db, role: 'worker' });
      const client = await sse(`${web.url}/api/web/stream?types=blacklist.*`);
      await client.until((c) => c.comments.includes('connected'), 'connected');
      await emit(worker.app, 'blacklist.listings.changed', changed('from-worker', 3));
      await emit(web.app, 'blacklist.listings.changed', changed('from-web', 4));
      await emit(worker.app, 'blacklist.cycle.completed', { cycleId: 'c9' });
      await client.until((c) => c.messages.length >= 3, 'events of both processes');
      expect(client.events.map((e) => e.data.source ?? e.data.cycleId).sort()).toEqual(['c9', 'from-web', 'from-worker']);
      const seqs = client.events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await closeAll();
      await db.drop();
    }
  });

  it('keeps only the newest `keep` rows', async () => {
    const t = await start({ database: dialect, stream: { keep: 10 } });
    for (let i = 0; i < 25; i++) await emit(t.app, 'job.finished', { jobId: 'j', runId: `p${i}`, status: 'succeeded', durationMs: 1 });
    await waitFor(async () => {
      const events = (await api<Page>(t.url, 'GET', '/events?after=0&limit=1000')).body.events;
      return events.at(-1)?.data.runId === 'p24';
    }, 'the last event');
    for (let i = 25; i < 40; i++) await emit(t.app, 'job.finished', { jobId: 'j', runId: `p${i}`, status: 'succeeded', durationMs: 1 });
    await waitFor(async () => (await api<Page>(t.url, 'GET', '/events?limit=1')).body.events[0]?.data.runId === 'p39', 'the last event');
    const events = (await api<Page>(t.url, 'GET', '/events?after=0&limit=1000')).body.events;
    expect(events.map((e) => e.data.runId)).toEqual(Array.from({ length: 10 }, (_, i) => `p${30 + i}`));
  });

  it('drops a client that falls too far behind; it resumes with Last-Event-ID', async () => {
    const t = await start({ database: dialect, stream: { clientQueue: 10 } });
    const slow = await sse(`${t.url}/api/web/stream`);
    const fast = await sse(`${t.url}/api/web/stream`);
    await slow.until((c) => c.comments.includes('connected'), 'connected');
    slow.res!.pause();
    const big = 'x'.repeat(200 * 1024);
    const N = 120;
    // one event at a time, as fast as the fast client reads them
    for (let i = 0; i < N; i++) {
      await emit(t.app, 'job.finished', { jobId: 'j', runId: `s${i}`, status: 'succeeded', durationMs: 1, big });
      await fast.until((c) => c.messages.length > i, `event ${i} on the fast client`, 60_000);
    }
    slow.res!.resume();
    await slow.until((c) => c.ended, 'the slow client to be disconnected', 60_000);
    expect(slow.messages.length).toBeLessThan(N);
    expect(slow.comments.some((c) => c.startsWith('dropped'))).toBe(true);
    // resume: exactly the rest
    const resumed = await sse(`${t.url}/api/web/stream`, { 'last-event-id': slow.messages.at(-1)?.id ?? '0' });
    await resumed.until((c) => slow.messages.length + c.messages.length >= N, 'the missed events', 60_000);
    const runIds = [...slow.events, ...resumed.events].map((e) => e.data.runId);
    expect(runIds).toEqual(Array.from({ length: N }, (_, i) => `s${i}`));
    expect(fast.ended).toBe(false);
    const metrics = await t.app.metrics.text();
    expect(metrics).toMatch(/tip_web_stream_dropped_total 1\b/);
    expect(metrics).toMatch(/tip_web_stream_clients 2\b/);
  }, 120_000);

  it('answers 503 past maxClients, sends heartbeats, and ends streams when the app stops', async () => {
    const t = await start({ database: dialect, stream: { maxClients: 1, heartbeat: '100ms' } });
    const one = await sse(`${t.url}/api/web/stream`);
    await one.until((c) => c.comments.includes('connected'), 'connected');
    const two = await sse(`${t.url}/api/web/stream`);
    expect(two.status).toBe(503);
    one.close();
    let slot: SseClient | undefined;
    await waitFor(async () => {
      const c = await SseClient.open(`${t.url}/api/web/stream`);
      if (c.status === 200) slot = track(c);
      else c.close();
      return slot !== undefined;
    }, 'a free slot');
    // oversized or malformed filters are refused with the parameter named
    const long = await fetch(`${t.url}/api/web/stream?types=${'a,'.repeat(60)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toMatch(/types/);
    // stopping the app ends open streams (a server closing is not held open by them)
    await slot!.until((c) => c.comments.includes('connected'), 'connected');
    await slot!.until((c) => c.comments.includes('heartbeat'), 'a heartbeat comment');
    expect(slot!.ended).toBe(false);
    await t.app.stop();
    await slot!.until((c) => c.ended, 'the stream to end');
  });
});
