// Every ```ts block of docs/*.md is a program that must compile: strict, against the built packages'
// dist/*.d.ts, exactly as a user would import them. Blocks that are intentionally partial are
// marked ```ts fragment (keep them rare); blocks importing '@tip/web' are skipped (with a message)
// until its build exports createWebServer.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = join(ROOT, 'docs');
// Inside the repository so that '@tip/*', 'zod'… resolve through its node_modules.
const OUT = join(ROOT, 'node_modules', '.cache', 'tip-docs-snippets');

/** A ```ts block of a Markdown file. */
interface Snippet {
  doc: string;
  line: number;
  code: string;
}

/** The ```ts blocks of a Markdown text (not ```ts fragment, not indented inside lists beyond 3 spaces). */
export function extractTsBlocks(doc: string, text: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trim().startsWith(fence) && lines[j]!.trim().replace(/[`~]/g, '') === '') break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    }
    if (lang === 'ts' && !/\bfragment\b/.test(rest)) out.push({ doc, line: i + 1, code: body.join('\n') });
    i = j;
  }
  return out;
}

const webReady = (() => {
  const dts = join(ROOT, 'packages/web/dist/index.d.ts');
  return existsSync(dts) && readFileSync(dts, 'utf8').includes('createWebServer');
})();

const docs = readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort();
const snippets = docs.flatMap((f) => extractTsBlocks(`docs/${f}`, readFileSync(join(DOCS, f), 'utf8')));

describe('extractTsBlocks', () => {
  it('takes ```ts blocks and skips ```ts fragment and other languages', () => {
    const md = ['# t', '```ts', 'const a = 1;', '```', '```ts fragment', 'oops(', '```', '```sh', 'ls', '```', '  ```ts', '  const b = 2;', '  ```'].join('\n');
    expect(extractTsBlocks('x.md', md)).toEqual([
      { doc: 'x.md', line: 2, code: 'const a = 1;' },
      { doc: 'x.md', line: 11, code: 'const b = 2;' },
    ]);
  });
});

describe('docs code blocks', () => {
  it('the packages are built (the blocks compile against dist/*.d.ts)', () => {
    expect(existsSync(join(ROOT, 'packages/core/dist/index.d.ts')), 'run ./dev build (node_modules/.bin/tsc -b) first').toBe(true);
  });

  // One program for every block (the compiler loads the libraries and packages once); each test
  // reports the problems of one doc.
  let compiled: { problems: Map<string, string[]>; skipped: string[] } | undefined;
  const compile = () => {
    if (compiled) return compiled;
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    const files = new Map<string, Snippet>();
    const skipped: string[] = [];
    for (const [n, s] of snippets.entries()) {
      if (!webReady && /from ['"]@tip\/web['"]/.test(s.code)) {
        skipped.push(`${s.doc}:${s.line}`);
        continue;
      }
      const file = join(OUT, `${s.doc.replace(/[^a-z0-9]+/gi, '-')}-${String(n + 1).padStart(3, '0')}-line-${s.line}.ts`);
      // every block is its own module (top-level await, no clashes between blocks)
      writeFileSync(file, `${s.code}\nexport {};\n`);
      files.set(file, s);
    }
    if (skipped.length) console.warn(`docs snippets: @tip/web is not built with createWebServer yet; skipped ${skipped.join(', ')}`);
    const program = ts.createProgram([...files.keys()], {
      target: ts.ScriptTarget.ES2023,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts', 'lib.dom.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      allowImportingTsExtensions: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      experimentalDecorators: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
    });
    const problems = new Map<string, string[]>();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const s = d.file ? files.get(d.file.fileName) : undefined;
      const { line } = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : { line: 0 };
      const doc = s?.doc ?? '(outside the docs)';
      const where = s ? `${s.doc}:${s.line + 1 + line}` : d.file ? `${relative(ROOT, d.file.fileName)}:${line + 1}` : '';
      problems.set(doc, [...(problems.get(doc) ?? []), `${where}: ${message}`]);
    }
    return (compiled = { problems, skipped });
  };

  for (const doc of [...new Set(snippets.map((s) => s.doc)), '(outside the docs)']) {
    it(`every \`\`\`ts block of ${doc} compiles (strict)`, { timeout: 180_000 }, () => {
      expect(compile().problems.get(doc) ?? []).toEqual([]);
    });
  }
});
