import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseListen } from '../src/commands/run.js';
import { formatTrigger, table } from '../src/format.js';
import { prettyLine } from '../src/logging.js';
import { resolveExports, resolvePackage, splitSpecifier } from '../src/resolve.js';

const C = ['node', 'import', 'default'];

describe('package resolution', () => {
  it('splits specifiers', () => {
    expect(splitSpecifier('@tip/plugin-x/sub/a')).toEqual({ name: '@tip/plugin-x', subpath: './sub/a' });
    expect(splitSpecifier('pkg')).toEqual({ name: 'pkg', subpath: '.' });
    expect(() => splitSpecifier('@scope')).toThrow(/not a valid package name/);
  });

  it('follows exports maps with the import conditions', () => {
    expect(resolveExports('./main.js', '.', C)).toBe('./main.js');
    expect(resolveExports({ 'tip-source': './src/index.ts', types: './x.d.ts', default: './dist/index.js' }, '.', C)).toBe('./dist/index.js');
    expect(resolveExports({ '.': { require: './c.cjs', import: './e.mjs' } }, '.', C)).toBe('./e.mjs');
    expect(resolveExports({ '.': { node: { import: './n.mjs' }, default: './d.js' } }, '.', C)).toBe('./n.mjs');
    expect(resolveExports({ './plugins/*': './dist/plugins/*.js' }, './plugins/a', C)).toBe('./dist/plugins/a.js');
    expect(resolveExports({ '.': { require: './c.cjs' } }, '.', C)).toBeUndefined();
    expect(resolveExports({ '.': './a.js' }, './other', C)).toBeUndefined();
  });

  const dir = mkdtempSync(join(tmpdir(), 'tip-resolve-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds packages in parent node_modules folders, with or without exports', () => {
    const nested = join(dir, 'a', 'b');
    mkdirSync(nested, { recursive: true });
    mkdirSync(join(dir, 'node_modules', 'legacy', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'legacy', 'package.json'), JSON.stringify({ name: 'legacy', main: 'lib/main' }));
    writeFileSync(join(dir, 'node_modules', 'legacy', 'lib', 'main.js'), '');
    expect(resolvePackage('legacy', nested)).toBe(join(dir, 'node_modules', 'legacy', 'lib', 'main.js'));
    mkdirSync(join(dir, 'node_modules', 'modern'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'modern', 'package.json'), JSON.stringify({ name: 'modern', exports: { '.': { require: './x.cjs' } } }));
    expect(() => resolvePackage('modern', nested)).toThrow(/does not export "\."/);
    expect(() => resolvePackage('absent', nested)).toThrow(/"absent" is not installed/);
  });
});

describe('formatting', () => {
  it('formats triggers, tables, listen addresses and log lines', () => {
    expect(formatTrigger({ every: '20s' })).toBe('every 20s');
    expect(formatTrigger({ cron: '* * * * *', tz: 'Europe/Paris' })).toBe('cron * * * * * (Europe/Paris)');
    expect(formatTrigger({ after: 'job.group.completed', when: () => true })).toBe('after job.group.completed (filtered)');
    expect(table(['A', 'BB'], [['xyz', '1']])).toBe('A    BB\n---  --\nxyz  1\n');
    expect(parseListen('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(() => parseListen('localhost')).toThrow(/host:port/);
    expect(() => parseListen('a:70000')).toThrow(/host:port/);
    const line = prettyLine(JSON.stringify({ level: 40, time: 0, job: 'demo.feeds', component: 'scheduler', msg: 'job partial', error: 'x y' }));
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  \[demo\.feeds\] job partial error="x y"\n$/);
  });
});
