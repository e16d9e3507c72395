// Every package declares every package its src/ imports (runtime and type imports alike), in
// dependencies or peerDependencies: installed alone, with a strict (non-hoisted) layout, nothing
// else is there. devDependencies do not count for src/.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const PACKAGES = join(ROOT, 'packages');

/** The parts of a package.json this test reads. */
interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Every `*.ts` file under `dir` (recursively). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Source text without comments (TSDoc examples are not imports). Good enough for import scanning. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/**
 * The module specifiers a TypeScript file imports: `import … from 'x'`, `export … from 'x'`,
 * `import 'x'`, `import('x')` (also in type positions), `require('x')`, and `declare module 'x'`
 * (augmenting a module needs it installed too).
 */
export function importedSpecifiers(text: string): string[] {
  const code = stripComments(text);
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|;)\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bdeclare\s+module\s+['"]([^'"]+)['"]/g,
  ];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]!));
}

/** The package name of a bare specifier (`x`, `x/sub`, `@scope/x`, `@scope/x/sub`); undefined for relative paths, URLs and Node builtins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || /^[a-z]+:/.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

const packages = readdirSync(PACKAGES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => ({ dir: join(PACKAGES, e.name), manifest: JSON.parse(readFileSync(join(PACKAGES, e.name, 'package.json'), 'utf8')) as Manifest }));

describe('import scanner', () => {
  it('finds every kind of import and maps it to a package name', () => {
    const text = [
      "import a from 'pkg-a';",
      "import { b } from '@scope/b/sub/path';",
      "import type { C } from \"pkg-c/types\";",
      "export * from 'pkg-d';",
      "import 'pkg-e';",
      "const f = await import('pkg-f');",
      "type G = import('@scope/g').G;",
      "declare module '@scope/h' {}",
      "import { i } from './local.js';",
      "import { j } from 'node:fs';",
      "const conditions = ['import', 'default'];",
      "import k from 'path';",
      "/** Example: `import { z } from 'not-a-dep'` */",
      "// import { y } from 'not-a-dep-either';",
    ].join('\n');
    const names = importedSpecifiers(text).map(packageOf).filter((n) => n !== undefined);
    expect(new Set(names)).toEqual(new Set(['pkg-a', '@scope/b', 'pkg-c', 'pkg-d', 'pkg-e', 'pkg-f', '@scope/g', '@scope/h']));
  });
});

describe.each(packages.map((p) => [p.manifest.name, p] as const))('%s', (name, { dir, manifest }) => {
  it('declares every package its src/ imports in dependencies or peerDependencies', () => {
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), name]);
    const missing: string[] = [];
    for (const file of tsFiles(join(dir, 'src'))) {
      for (const spec of importedSpecifiers(readFileSync(file, 'utf8'))) {
        const pkg = packageOf(spec);
        if (pkg !== undefined && !declared.has(pkg)) missing.push(`${relative(ROOT, file)} imports "${spec}" but ${name} does not declare "${pkg}"`);
      }
    }
    expect(missing).toEqual([]);
  });

  it.runIf(name !== '@tip/core')('takes @tip/core as a peer (plugins) or a dependency (the cli)', () => {
    if (name === '@tip/cli') expect(manifest.dependencies?.['@tip/core']).toBeDefined();
    else expect(manifest.peerDependencies?.['@tip/core']).toBeDefined();
  });
});
