// Every ```ts block of docs/*.md is a program that must compile: strict, against the built packages'
// dist/*.d.ts, exactly as a user would import them. There is no way to skip a block:
//
// - A block is its own module: it imports what it uses.
// - Declarations the reader does not need to see (the `ctx` of a `register(ctx)` excerpt, the
//   plugin's own service class…) go in an HTML comment right before the block, which Markdown
//   renderers hide and the test prepends to the block (`~/` in its imports is the repository, for
//   pages that describe a package's internal modules):
//
//       <!-- ts-context
//       import type { RegisterContext } from '@tip/core';
//       declare const ctx: RegisterContext<{}>;
//       -->
//       ```ts
//       ctx.jobs.add({ id: 'x', run: () => {} });
//       ```
//
// - ```ts continue: the block goes on from the previous ```ts block of the same page (everything
//   that one declared, its hidden context included, is in scope).
// - Pseudo-code and formulas are ```text; every fence names its language.
//
// Every `tip …` command line of the ```sh blocks parses with the CLI's options (built-in commands
// and those of the blacklist and web plugins).
// ```json blocks parse; those that are a TIP configuration file (or a blacklist feed entry) are
// validated by a real app with the plugins they name.
// The route tables of docs/http-api.md are checked against the routes a real app mounts, both ways.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COMMANDS, COMMON_OPTIONS } from '@tip/cli';
import { CorePoints, createTip, type TipPlugin } from '@tip/core';
import blacklist from '@tip/plugin-blacklist';
import webPlugin, { createWebServer } from '@tip/web';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import sightingsPlugin from './custom-source/src/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = join(ROOT, 'docs');
// Inside the repository so that '@tip/*', 'zod'… resolve through its node_modules.
const OUT = join(ROOT, 'node_modules', '.cache', 'tip-docs-snippets');

/** Attributes a ```ts fence may carry. */
const TS_ATTRIBUTES = new Set(['continue']);

/** A piece of TypeScript taken from a Markdown page: its text and the page line of its first line. */
interface Segment {
  line: number;
  code: string;
}

/** A fenced code block of a Markdown page. */
export interface Block {
  doc: string;
  /** Line of the opening fence (1-based). */
  line: number;
  /** The fence's language (`ts`, `sh`, `''` when none). */
  lang: string;
  /** Words after the language (`continue`). */
  attributes: string[];
  code: string;
  /** The hidden `<!-- ts-context … -->` comment right before the block, if any. */
  context?: Segment;
}

/**
 * The fenced blocks of a Markdown text (fences indented by at most 3 spaces; the indentation of
 * the fence is removed from the body), with the `<!-- ts-context … -->` comment preceding each,
 * and the mistakes in how they are marked.
 */
export function extractBlocks(doc: string, text: string): { blocks: Block[]; problems: string[] } {
  const blocks: Block[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  let pending: (Segment & { comment: number }) | undefined; // a ts-context comment waiting for its block
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*<!--\s*ts-context\b/.test(line)) {
      if (pending) problems.push(`${doc}:${pending.comment}: a ts-context comment is not followed by a \`\`\`ts block`);
      const first = line.replace(/^\s*<!--\s*ts-context\b/, '');
      const body: string[] = [];
      let j = i;
      let rest = first;
      while (!rest.includes('-->')) {
        body.push(rest);
        j++;
        if (j >= lines.length) {
          problems.push(`${doc}:${i + 1}: the ts-context comment is not closed (-->)`);
          break;
        }
        rest = lines[j]!;
      }
      if (rest.includes('-->')) {
        body.push(rest.slice(0, rest.indexOf('-->')));
        if (rest.slice(rest.indexOf('-->') + 3).trim()) problems.push(`${doc}:${j + 1}: text after the ts-context comment's -->`);
      }
      // the first line of the comment is usually empty: start the segment at the first code line
      const start = body[0]!.trim() === '' ? 1 : 0;
      while (body.length > start && body.at(-1)!.trim() === '') body.pop();
      pending = { line: i + 1 + start, code: body.slice(start).join('\n'), comment: i + 1 };
      i = j;
      continue;
    }
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(line);
    if (!open) {
      if (pending && line.trim() !== '') {
        problems.push(`${doc}:${pending.comment}: a ts-context comment must be followed by its \`\`\`ts block (only blank lines between)`);
        pending = undefined;
      }
      continue;
    }
    const [, indent, fence, lang, rest] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trim().startsWith(fence) && lines[j]!.trim().replace(/[`~]/g, '') === '') break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    }
    const block: Block = { doc, line: i + 1, lang, attributes: rest.split(/\s+/).filter(Boolean), code: body.join('\n') };
    if (pending) {
      if (lang === 'ts') block.context = { line: pending.line, code: pending.code };
      else problems.push(`${doc}:${pending.comment}: a ts-context comment precedes a \`\`\`${lang} block, not a \`\`\`ts one`);
      pending = undefined;
    }
    blocks.push(block);
    i = j;
  }
  if (pending) problems.push(`${doc}:${pending.comment}: a ts-context comment is not followed by a \`\`\`ts block`);
  for (const b of blocks) {
    if (b.lang === '') problems.push(`${b.doc}:${b.line}: a fence without a language (use \`\`\`text for plain text)`);
    if (/^(typescript|tsx?|js|javascript|mjs)$/i.test(b.lang) && b.lang !== 'ts') problems.push(`${b.doc}:${b.line}: write \`\`\`ts, not \`\`\`${b.lang}`);
    if (b.lang === 'ts') {
      for (const a of b.attributes) {
        if (!TS_ATTRIBUTES.has(a)) problems.push(`${b.doc}:${b.line}: unknown attribute "${a}" of a \`\`\`ts block (every block compiles; hidden declarations go in a <!-- ts-context --> comment)`);
      }
    } else if (b.attributes.length) {
      problems.push(`${b.doc}:${b.line}: attributes "${b.attributes.join(' ')}" on a \`\`\`${b.lang} block`);
    }
  }
  return { blocks, problems };
}

/**
 * The programs of a page's ```ts blocks: each block's segments (the context and the code of every
 * block it continues, then its own), in order.
 */
export function tsPrograms(blocks: readonly Block[]): { block: Block; segments: Segment[] }[] {
  const out: { block: Block; segments: Segment[] }[] = [];
  for (const block of blocks) {
    if (block.lang !== 'ts') continue;
    const own: Segment[] = [...(block.context ? [block.context] : []), { line: block.line + 1, code: block.code }];
    const previous = out.filter((p) => p.block.doc === block.doc).at(-1);
    if (block.attributes.includes('continue')) {
      if (!previous) throw new Error(`${block.doc}:${block.line}: \`\`\`ts continue without an earlier \`\`\`ts block on the page`);
      out.push({ block, segments: [...previous.segments, ...own] });
    } else {
      out.push({ block, segments: own });
    }
  }
  return out;
}

const webReady = (() => {
  const dts = join(ROOT, 'packages/web/dist/index.d.ts');
  return existsSync(dts) && readFileSync(dts, 'utf8').includes('createWebServer');
})();

const docs = readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort();
const pages = docs.map((f) => extractBlocks(`docs/${f}`, readFileSync(join(DOCS, f), 'utf8')));
const programs = pages.flatMap((p) => tsPrograms(p.blocks));

describe('extractBlocks', () => {
  it('takes fenced blocks with their language, attributes and ts-context comment', () => {
    const md = [
      '# t', //
      '```ts',
      'const a = 1;',
      '```',
      '<!-- ts-context',
      'declare const x: number;',
      '-->',
      '',
      '```ts continue',
      'const b = a + x;',
      '```',
      '```sh',
      'ls',
      '```',
      '  ```ts',
      '  const c = 2;',
      '  ```',
    ].join('\n');
    const { blocks, problems } = extractBlocks('x.md', md);
    expect(problems).toEqual([]);
    expect(blocks).toEqual([
      { doc: 'x.md', line: 2, lang: 'ts', attributes: [], code: 'const a = 1;' },
      { doc: 'x.md', line: 9, lang: 'ts', attributes: ['continue'], code: 'const b = a + x;', context: { line: 6, code: 'declare const x: number;' } },
      { doc: 'x.md', line: 12, lang: 'sh', attributes: [], code: 'ls' },
      { doc: 'x.md', line: 15, lang: 'ts', attributes: [], code: 'const c = 2;' },
    ]);
    expect(tsPrograms(blocks).map((p) => p.segments)).toEqual([
      [{ line: 3, code: 'const a = 1;' }],
      [
        { line: 3, code: 'const a = 1;' },
        { line: 6, code: 'declare const x: number;' },
        { line: 10, code: 'const b = a + x;' },
      ],
      [{ line: 16, code: 'const c = 2;' }],
    ]);
  });

  it('reports blocks that would escape the compiler', () => {
    const md = ['```ts fragment', 'oops(', '```', '```', 'x', '```', '<!-- ts-context declare const y: 1; -->', 'text', '```typescript', '```'].join('\n');
    expect(extractBlocks('x.md', md).problems).toEqual([
      'x.md:7: a ts-context comment must be followed by its ```ts block (only blank lines between)',
      'x.md:1: unknown attribute "fragment" of a ```ts block (every block compiles; hidden declarations go in a <!-- ts-context --> comment)',
      'x.md:4: a fence without a language (use ```text for plain text)',
      'x.md:9: write ```ts, not ```typescript',
    ]);
  });
});

describe('docs code blocks', () => {
  it('every fence of docs/*.md names its language, and ```ts blocks carry no skip marker', () => {
    expect(pages.flatMap((p) => p.problems)).toEqual([]);
  });

  it('the packages are built (the blocks compile against dist/*.d.ts)', () => {
    expect(existsSync(join(ROOT, 'packages/core/dist/index.d.ts')), 'run ./dev build (node_modules/.bin/tsc -b) first').toBe(true);
    expect(webReady, 'packages/web/dist is stale: run node_modules/.bin/tsc -b').toBe(true);
  });

  // One program for every block (the compiler loads the libraries and packages once); each test
  // reports the problems of one doc.
  let compiled: Map<string, string[]> | undefined;
  const compile = () => {
    if (compiled) return compiled;
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    const files = new Map<string, { block: Block; segments: Segment[] }>();
    for (const [n, p] of programs.entries()) {
      const file = join(OUT, `${p.block.doc.replace(/[^a-z0-9]+/gi, '-')}-${String(n + 1).padStart(3, '0')}-line-${p.block.line}.ts`);
      // every block is its own module (top-level await, no clashes between blocks)
      writeFileSync(file, `${p.segments.map((s) => s.code).join('\n')}\nexport {};\n`);
      files.set(file, p);
    }
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
      // '~/…' is the repository: hidden contexts import a package's internal modules through it
      paths: { '~/*': [join(ROOT, '*')] },
    });
    const problems = new Map<string, string[]>();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const p = d.file ? files.get(d.file.fileName) : undefined;
      const { line } = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : { line: 0 };
      let where = d.file ? `${relative(ROOT, d.file.fileName)}:${line + 1}` : '';
      if (p) {
        // the page line of the program's line `line` (0-based)
        let first = 0;
        where = `${p.block.doc} (block of line ${p.block.line})`;
        for (const s of p.segments) {
          const count = s.code.split('\n').length;
          if (line < first + count) {
            where = `${p.block.doc}:${s.line + line - first}`;
            break;
          }
          first += count;
        }
      }
      const doc = p?.block.doc ?? '(outside the docs)';
      problems.set(doc, [...(problems.get(doc) ?? []), `${where}: ${message}`]);
    }
    return (compiled = problems);
  };

  for (const doc of [...new Set(programs.map((p) => p.block.doc)), '(outside the docs)']) {
    it(`every \`\`\`ts block of ${doc} compiles (strict)`, { timeout: 180_000 }, () => {
      expect(compile().get(doc) ?? []).toEqual([]);
    });
  }
});

/**
 * The `tip` invocations of a shell text: the words after `tip` (run directly, through `npx`, or in
 * `$(…)`), up to `&&`, `;`, `|`, `>`, `)` or a `#` comment; quotes are removed.
 */
export function tipCommands(text: string): { line: number; args: string[] }[] {
  const out: { line: number; args: string[] }[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    const tokens: string[] = [];
    let token: string | undefined;
    let quote = '';
    const end = () => {
      if (token !== undefined) tokens.push(token);
      token = undefined;
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === quote) quote = '';
        else token += c;
      } else if (c === "'" || c === '"') {
        quote = c;
        token ??= '';
      } else if (/\s/.test(c)) end();
      else if (c === '#' && token === undefined) break;
      else if (c === '$' && line[i + 1] === '(') {
        end();
        tokens.push('$(');
        i++;
      } else if (c === ')' || c === ';' || c === '|' || c === '>' || (c === '&' && line[i + 1] === '&')) {
        end();
        tokens.push(c === '&' ? '&&' : c);
        if (c === '&' || (c === '|' && line[i + 1] === '|')) i++;
      } else token = (token ?? '') + c;
    }
    end();
    for (const [i, t] of tokens.entries()) {
      if (t !== 'tip' || !(i === 0 || ['npx', '$(', '&&', ';', '|'].includes(tokens[i - 1]!))) continue;
      const args: string[] = [];
      for (const a of tokens.slice(i + 1)) {
        if (['&&', ';', '|', '>', ')', '$('].includes(a)) break;
        args.push(a);
      }
      out.push({ line: n + 1, args });
    }
  }
  return out;
}

describe('```sh blocks', () => {
  it('tipCommands finds tip invocations', () => {
    const sh = ["TOKEN=$(npx tip web token create --name 'ci x' -c t.json)   # on stdout", 'git clone <repo> tip && cd tip', 'tip trigger blacklist; tip status > s.txt'].join('\n');
    expect(tipCommands(sh)).toEqual([
      { line: 1, args: ['web', 'token', 'create', '--name', 'ci x', '-c', 't.json'] },
      { line: 3, args: ['trigger', 'blacklist'] },
      { line: 3, args: ['status'] },
    ]);
  });

  it('every tip command line of the docs names a command and its options', async () => {
    const app = await createTip({ plugins: [blacklist(), webPlugin()], config: { log: { level: 'silent' } } });
    await app.load();
    const pluginCommands = app.extensionPoint(CorePoints.commands);
    const lines = pages.flatMap((p) => p.blocks.filter((b) => b.lang === 'sh').flatMap((b) => tipCommands(b.code).map((c) => ({ ...c, where: `${b.doc}:${b.line + c.line}` }))));
    expect(lines.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { args, where } of lines) {
      const builtIn = COMMANDS.find((c) => c.name === args[0]);
      const words = args.filter((a) => !a.startsWith('-'));
      const plugin = builtIn ? undefined : (pluginCommands.get(`${words[0]} ${words[1]}`) ?? pluginCommands.get(words[0] ?? ''));
      const command = builtIn ?? plugin;
      if (!command) {
        problems.push(`${where}: tip ${args.join(' ')}: no such command`);
        continue;
      }
      const rest = [...args];
      for (const w of command.name.split(' ')) rest.splice(rest.indexOf(w), 1);
      const options = Object.fromEntries(
        Object.entries({ ...(command.options ?? {}), ...COMMON_OPTIONS }).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...('multiple' in o && o.multiple ? { multiple: true } : {}) }]),
      );
      try {
        const { positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
        const { min, max } = builtIn?.positionals ?? { min: 0, max: builtIn ? 0 : Infinity };
        if (positionals.length < min || positionals.length > max) problems.push(`${where}: tip ${args.join(' ')}: ${positionals.length} arguments, expected ${min}..${max}`);
      } catch (err) {
        problems.push(`${where}: tip ${args.join(' ')}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

/** The plugins a ```json configuration may name (local plugin files are left out). */
const KNOWN_PLUGINS: Record<string, () => TipPlugin<never> | TipPlugin<unknown>> = {
  '@tip/plugin-blacklist': () => blacklist(),
  '@tip/web': () => webPlugin(),
  '@acme/tip-plugin-sightings': () => sightingsPlugin(),
};

describe('```json blocks', () => {
  const json = pages.flatMap((p) => p.blocks).filter((b) => b.lang === 'json');

  it('every ```json block parses', () => {
    const bad = json.flatMap((b) => {
      try {
        JSON.parse(b.code);
        return [];
      } catch (err) {
        return [`${b.doc}:${b.line}: ${(err as Error).message}`];
      }
    });
    expect(json.length).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });

  // A configuration file ({ plugins, ...sections }) or one `blacklist.feeds` entry ({ id, url|catalog }).
  const checked = json.filter((b) => /"plugins"\s*:|^\s*\{\s*"id"/.test(b.code));
  it.each(checked.map((b) => [`${b.doc}:${b.line}`, b] as const))('%s is a valid configuration', async (_, b) => {
    const data = JSON.parse(b.code) as Record<string, unknown>;
    const isFeed = !('plugins' in data);
    const { plugins = [], ...config } = (isFeed ? { plugins: ['@tip/plugin-blacklist'], blacklist: { feeds: [data] } } : data) as { plugins?: Array<string | [string, unknown]> };
    const names = plugins.map((p) => (typeof p === 'string' ? p : p[0])).filter((n) => !n.startsWith('.'));
    expect(names.filter((n) => !KNOWN_PLUGINS[n]), 'plugins the test does not know').toEqual([]);
    const app = await createTip({ plugins: names.map((n) => KNOWN_PLUGINS[n]!()), config: { ...config, log: { level: 'silent' } } });
    await expect(app.load()).resolves.toBe(app);
  });
});

/** Paths `createWebServer` serves itself, beside `app.routes('/api')`. */
const SERVER_ROUTES = [
  'GET /api/session',
  'POST /api/session',
  'DELETE /api/session',
  'GET /api/ui/manifest',
  'GET /api/openapi.json',
  'GET /api/docs',
  'GET /healthz',
  'GET /metrics',
];

/** `/api/blacklist/indicators/<value>` and `/api/blacklist/indicators/:value` → `/api/blacklist/indicators/:`. */
const routeKey = (method: string, path: string) => `${method} ${path.replace(/\?.*$/, '').replace(/(:[A-Za-z0-9_]+|<[^>]+>|\{[^}]+\})/g, ':')}`;

/**
 * The `METHOD /path` routes of the tables of a Markdown page: the first cell's code spans; a span
 * without a method takes the one before it in the cell (`GET /api/openapi.json`, `/api/docs`); a
 * path without `/api` in a section titled with an `/api/...` prefix in backquotes is under it.
 */
export function documentedRoutes(text: string): { key: string; line: number; text: string; query: string[] }[] {
  const out: { key: string; line: number; text: string; query: string[] }[] = [];
  let prefix = '';
  for (const [n, line] of text.split('\n').entries()) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      prefix = /`(\/api\/[^`\s]+)`/.exec(heading[1]!)?.[1]?.replace(/\/$/, '') ?? '';
      continue;
    }
    if (!line.startsWith('|')) continue;
    const cell = line.split(/(?<!\\)\|/)[1] ?? '';
    let method: string | undefined;
    for (const [, span] of cell.matchAll(/`([^`]+)`/g)) {
      const m = /^(?:(GET|POST|PUT|PATCH|DELETE)\s+)?(\/\S*)$/.exec(span!.trim());
      if (!m) continue;
      method = m[1] ?? method;
      if (!method) continue;
      const path = m[2]!.startsWith('/api/') || !prefix ? m[2]! : `${prefix}${m[2]}`;
      const query = [...(/\?(.*)$/.exec(path)?.[1] ?? '').matchAll(/([A-Za-z0-9_]+)=/g)].map((q) => q[1]!);
      out.push({ key: routeKey(method, path), line: n + 1, text: `${method} ${path}`, query });
    }
  }
  return out;
}

describe('docs/http-api.md documents the routes a server mounts', () => {
  it('documentedRoutes reads the route tables', () => {
    const md = [
      '### Server',
      '| method and path | scope |',
      '|---|---|',
      '| `GET /api/openapi.json`, `/api/docs` | — |',
      '### Blacklist (`/api/blacklist`)',
      '| `GET /indicators/:value/history` | read |',
      '| `GET /export?format=&minScore=` | read |',
      '| `DELETE /api/web/webhooks/:id` | admin |',
      '| `tip_session` | cookie |',
    ].join('\n');
    expect(documentedRoutes(md)[3]!.query).toEqual(['format', 'minScore']);
    expect(documentedRoutes(md).map((r) => r.key)).toEqual([
      'GET /api/openapi.json',
      'GET /api/docs',
      'GET /api/blacklist/indicators/:/history',
      'GET /api/blacklist/export',
      'DELETE /api/web/webhooks/:',
    ]);
  });

  // the routes of a real app (blacklist and web plugins) and of its web server, and those documented
  const routes = async () => {
    const app = await createTip({ plugins: [blacklist(), webPlugin()] });
    await app.load(); // register only: no database
    const mounted = new Map<string, string>();
    const queries = new Map<string, string[] | undefined>(); // the query parameters a route's zod schema reads
    for (const m of app.routes('/api')) {
      const key = routeKey(m.route.method, m.path);
      mounted.set(key, `${m.route.method} ${m.path} (${m.plugin})`);
      const shape = (m.route.query as { shape?: Record<string, unknown> } | undefined)?.shape;
      queries.set(key, m.route.query ? (shape ? Object.keys(shape) : undefined) : []);
    }
    for (const r of SERVER_ROUTES) mounted.set(routeKey(r.split(' ')[0]!, r.split(' ')[1]!), `${r} (createWebServer)`);
    const documented = documentedRoutes(readFileSync(join(DOCS, 'http-api.md'), 'utf8')).filter((r) => /^\S+ \/(api\/|healthz$|metrics$)/.test(r.key));
    return { mounted, documented, queries };
  };

  it('every route docs/http-api.md lists under /api, and /healthz and /metrics, is mounted', async () => {
    const { mounted, documented } = await routes();
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((r) => !mounted.has(r.key)).map((r) => `docs/http-api.md:${r.line}: ${r.text} is not a mounted route`)).toEqual([]);
  });

  it(`the web server serves ${SERVER_ROUTES.length} routes of its own beside the app's`, async () => {
    const app = await createTip({ plugins: [blacklist(), webPlugin()], config: { log: { level: 'silent' } } });
    await app.load();
    const server = await createWebServer(app, { port: 0 });
    try {
      const served = [...SERVER_ROUTES, ...app.routes('/api').map((m) => `${m.route.method} ${m.path}`)];
      expect(served.filter((r) => !server.fastify.hasRoute({ method: r.split(' ')[0] as 'GET', url: r.split(' ')[1]! }))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('the query parameters docs/http-api.md shows are those the routes read', async () => {
    const { documented, queries } = await routes();
    const unknown = documented.flatMap((r) => {
      const known = queries.get(r.key);
      return known ? r.query.filter((q) => !known.includes(q)).map((q) => `docs/http-api.md:${r.line}: ${r.text}: the route reads no "${q}" (it reads ${known.join(', ') || 'no query'})`) : [];
    });
    expect(documented.some((r) => r.query.length > 0)).toBe(true);
    expect(unknown).toEqual([]);
  });

  it('every mounted route is in docs/http-api.md', async () => {
    const { mounted, documented } = await routes();
    const keys = new Set(documented.map((r) => r.key));
    expect([...mounted].filter(([k]) => !keys.has(k)).map(([, what]) => `${what} is not documented in docs/http-api.md`)).toEqual([]);
  });
});
