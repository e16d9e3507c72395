import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { TipEventBus } from '../src/index.js';

declare module '../src/index.js' {
  interface TipEvents {
    'test.ping': { n: number };
  }
}

describe('event bus', () => {
  it('isolates throwing and rejecting listeners and logs them', async () => {
    const logger = pino({ level: 'silent' });
    const error = vi.spyOn(logger, 'error');
    const bus = new TipEventBus(logger);
    const got: number[] = [];
    bus.on('test.ping', () => { throw new Error('sync boom'); });
    bus.on('test.ping', async () => { throw new Error('async boom'); });
    bus.on('test.ping', async (e) => { await new Promise((r) => setTimeout(r, 5)); got.push(e.n); });
    bus.on('test.ping', (e) => void got.push(e.n * 10));
    await expect(bus.emit('test.ping', { n: 1 })).resolves.toBeUndefined();
    expect(got.sort()).toEqual([1, 10]);
    expect(error).toHaveBeenCalledTimes(2);
  });

  it('off, once and next', async () => {
    const bus = new TipEventBus();
    const got: number[] = [];
    const listener = (e: { n: number }) => void got.push(e.n);
    bus.on('test.ping', listener);
    bus.once('test.ping', (e) => void got.push(e.n + 100));
    const next = bus.next('test.ping');
    await bus.emit('test.ping', { n: 1 });
    bus.off('test.ping', listener);
    await bus.emit('test.ping', { n: 2 });
    expect(got).toEqual([1, 101]);
    expect(await next).toEqual({ n: 1 });
    expect(bus.listenerCount('test.ping')).toBe(0);
  });
});
