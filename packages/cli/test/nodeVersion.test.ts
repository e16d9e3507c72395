import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, requiredNodeRange, satisfiesNodeRange } from '../src/nodeVersion.js';
import { BIN, ROOT, requireBuild } from './helpers.js';

const REQUIRED = (JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

/** A Node binary on this machine older than the CLI's engines.node (the OS's Node 20 here), if any. */
function findOldNode(): { path: string; version: string } | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin', '/bin'];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const candidate = join(dir, 'node');
    if (!dir || !existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    try {
      const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 }).trim();
      if (!satisfiesNodeRange(version, REQUIRED)) return { path: candidate, version };
    } catch {
      // not runnable: ignore
    }
  }
  return undefined;
}

describe('node version guard', () => {
  it('compares versions with engines.node ranges', () => {
    expect(requiredNodeRange()).toBe(REQUIRED);
    expect(satisfiesNodeRange('20.20.2', '>=22.17')).toBe(false);
    expect(satisfiesNodeRange('22.16.9', '>=22.17')).toBe(false);
    expect(satisfiesNodeRange('22.17.0', '>=22.17')).toBe(true);
    expect(satisfiesNodeRange('24.1.0', '>=22.17.0')).toBe(true);
    expect(satisfiesNodeRange('23.0.0', '^22.17 || >=24')).toBe(false);
    expect(satisfiesNodeRange('24.0.0', '^22.17 || >=24')).toBe(true);
    expect(satisfiesNodeRange('20.0.0', 'something odd')).toBe(true); // unknown ranges never block
    const message = nodeVersionProblem('20.20.2', '>=22.17') ?? '';
    expect(message).toContain('>=22.17');
    expect(message).toContain('20.20.2');
    expect(message).toContain('./dev tip');
    expect(message).toContain('22.17');
    expect(nodeVersionProblem(process.versions.node, REQUIRED)).toBeUndefined();
  });

  const old = findOldNode();
  if (!old) console.warn(`[skip] no Node older than ${REQUIRED} on this machine: the bin's version guard is only unit-tested`);
  it.skipIf(!old)(`tip on an old Node (${old?.version ?? 'none found'}) explains the required version instead of crashing`, () => {
    requireBuild();
    const r = spawnSync(old!.path, [BIN, '--version'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Node.js ${REQUIRED} is required`);
    expect(r.stderr).toContain(`Node.js ${old!.version}`);
    expect(r.stderr).toContain('./dev tip');
  });
});
