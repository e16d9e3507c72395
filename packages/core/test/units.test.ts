import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CORE_VERSION, cron, every, at, extensionPoint, ExtensionPointStore, formatDuration, MAX_DURATION_MS, nextDue, parseDuration, TipContainer, TipError, TipErrorCodes, token } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

describe('durations', () => {
  it('parses compound durations and names bad input', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(250)).toBe(250);
    expect(() => parseDuration('soon', 'job "x" timeout')).toThrow(/job "x" timeout: "soon" is not a duration/);
    expect(() => parseDuration('5 minutes')).toThrow(expect.objectContaining({ code: TipErrorCodes.TRIGGER_INVALID }));
    expect(() => parseDuration(-1)).toThrow();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(350)).toBe('350ms');
  });

  /** The TipError thrown by `fn`. */
  function thrown(fn: () => unknown): TipError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(TipError);
      return err as TipError;
    }
    throw new Error('expected a TipError');
  }

  it('treats a bare number as milliseconds and rounds to whole milliseconds', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration(1.4)).toBe(1);
    expect(parseDuration('0.4ms')).toBe(0);
    expect(parseDuration(' 1h 30m ')).toBe(5_400_000);
    expect(parseDuration('1W')).toBe(604_800_000);
  });

  it('rejects absurd, non-finite, negative and non-duration values, naming the input', () => {
    for (const value of ['15000000w', 1e308, Infinity, '9'.repeat(400) + 'ms', MAX_DURATION_MS + 1, '3651d']) {
      const err = thrown(() => parseDuration(value as number, 'scheduler.drainTimeout'));
      expect(err.code).toBe(TipErrorCodes.TRIGGER_INVALID);
      expect(err.message).toMatch(/^scheduler\.drainTimeout: .* is longer than the maximum of 3650d \(10 years\)$/);
      expect(err.details).toMatchObject({ what: 'scheduler.drainTimeout', max: '3650d' });
    }
    expect(parseDuration('3650d')).toBe(MAX_DURATION_MS);
    for (const value of [NaN, -1, -Infinity, '-5s', '', '   ', '500', '1e3s', '5 minutes', 'Infinity', true, null, {}, [], '1h30', 's']) {
      const err = thrown(() => parseDuration(value as number, 'job "x" timeout'));
      expect(err.code, String(value)).toBe(TipErrorCodes.TRIGGER_INVALID);
      expect(err.message.startsWith('job "x" timeout: '), err.message).toBe(true);
      expect(err.details.what).toBe('job "x" timeout');
    }
    expect(thrown(() => parseDuration(NaN)).details.input).toBe('NaN');
    expect(thrown(() => parseDuration('soon')).details.input).toBe('soon');
  });

  it('applies optional min and max bounds and names them', () => {
    expect(parseDuration('1m', 'blacklist.interval', { min: '1m' })).toBe(60_000);
    expect(parseDuration('1h', 'x', { min: '1m', max: '1h' })).toBe(3_600_000);
    const low = thrown(() => parseDuration('30s', 'blacklist.interval', { min: '1m' }));
    expect(low.code).toBe(TipErrorCodes.TRIGGER_INVALID);
    expect(low.message).toBe('blacklist.interval: "30s" is below the minimum of 1m');
    expect(low.details).toMatchObject({ what: 'blacklist.interval', input: '30s', min: '1m' });
    const high = thrown(() => parseDuration(7_200_000, 'drainTimeout', { min: 0, max: '1h' }));
    expect(high.message).toBe('drainTimeout: 7200000 is above the maximum of 1h');
    expect(high.details).toMatchObject({ input: 7_200_000, min: '0ms', max: '1h' });
    expect(thrown(() => parseDuration('1s', 'x', { min: 'soon' })).code).toBe(TipErrorCodes.CONFIG_INVALID);
    expect(thrown(() => parseDuration('1s', 'x', { min: '2h', max: '1h' })).code).toBe(TipErrorCodes.CONFIG_INVALID);
  });

  it('formatDuration output parses back to the same value', () => {
    for (const ms of [0, 1, 999, 1000, 1500 - 500, 59_000, 60_000, 61_000, 3_600_000, 5_400_000, 86_400_000, 90_061_000, 604_800_000, MAX_DURATION_MS]) {
      expect(parseDuration(formatDuration(ms)), formatDuration(ms)).toBe(ms);
    }
    for (const text of ['500ms', '30s', '5m', '1h30m', '2d', '1d1h1m1s', '3650d']) {
      expect(formatDuration(parseDuration(text))).toBe(text);
    }
    expect(formatDuration(1500)).toBe('2s'); // seconds and above are rounded to whole seconds
    expect(formatDuration(parseDuration('2w'))).toBe('14d');
  });
});

describe('nextDue', () => {
  const t0 = Date.UTC(2026, 0, 1, 10, 17, 0);
  it('every: immediate at first start, then interval after the last end', () => {
    expect(nextDue([every('1h')], {}, t0)).toBe(t0);
    expect(nextDue([every('1h', { immediate: false })], {}, t0)).toBe(t0 + 3_600_000);
    expect(nextDue([every('1h')], { lastEndedAt: t0 - 600_000 }, t0)).toBe(t0 + 3_000_000);
  });
  it('cron: next slot after the last end, in the given zone', () => {
    expect(nextDue([cron('0 * * * *')], {}, t0)).toBe(Date.UTC(2026, 0, 1, 11, 0, 0));
    expect(nextDue([cron('0 12 * * *', 'Europe/Berlin')], {}, t0)).toBe(Date.UTC(2026, 0, 1, 11, 0, 0));
  });
  it('at: once, the earliest of several triggers wins, events are not time-based', () => {
    const when = t0 + 5000;
    expect(nextDue([at(new Date(when))], {}, t0)).toBe(when);
    expect(nextDue([at(new Date(when))], { lastStartedAt: when }, t0)).toBeUndefined();
    expect(nextDue([every('1h'), at(when)], { lastEndedAt: t0 }, t0)).toBe(when);
    expect(nextDue([{ after: 'tip.started' }], {}, t0)).toBeUndefined();
  });
});

describe('ManualClock', () => {
  it('fires timers in order and only when due', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 200);
    const h = clock.setTimeout(() => fired.push('x'), 150);
    clock.setTimeout(() => { fired.push('a'); clock.setTimeout(() => fired.push('a2'), 50); }, 100);
    clock.clearTimeout(h);
    await clock.advance(149);
    expect(fired).toEqual(['a']);
    await clock.advance(100);
    expect(fired).toEqual(['a', 'a2', 'b']);
    expect(clock.now()).toBe(249);
    expect(clock.pending).toBe(0);
  });
});

describe('container and extension points', () => {
  it('resolves typed tokens, factories once, and names missing ones', () => {
    const c = new TipContainer();
    const T = token<{ id: number }>('thing');
    let made = 0;
    c.provide(T, { useFactory: () => ({ id: ++made }) });
    expect(c.get(T)).toBe(c.get(T));
    expect(made).toBe(1);
    expect(() => c.provide(T, { useValue: { id: 9 } })).toThrow(/already provided/);
    expect(() => c.get(token('nope'))).toThrow(expect.objectContaining({ code: TipErrorCodes.TOKEN_MISSING, message: expect.stringContaining('"nope"') }));
  });
  it('keyed extension points reject duplicates naming both owners and can be sealed', () => {
    const store = new ExtensionPointStore(extensionPoint<{ id: string }>('demo.items', { keyOf: (i) => i.id }));
    store.as('plugin-a').add({ id: 'x' });
    expect(() => store.as('plugin-b').add({ id: 'x' })).toThrow(/"x" added by plugin-b is already added by plugin-a/);
    expect(store.ownerOf(store.get('x')!)).toBe('plugin-a');
    store.seal();
    expect(() => store.as('plugin-a').add({ id: 'y' })).toThrow(expect.objectContaining({ code: TipErrorCodes.APP_STATE }));
  });
});

describe('package metadata', () => {
  it('CORE_VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CORE_VERSION).toBe(pkg.version);
  });
});
