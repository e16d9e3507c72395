import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CORE_VERSION, cron, every, at, extensionPoint, ExtensionPointStore, formatDuration, nextDue, parseDuration, TipContainer, TipErrorCodes, token } from '../src/index.js';
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
