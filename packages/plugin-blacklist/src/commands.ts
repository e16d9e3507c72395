import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseDuration, type CommandDefinition } from '@tip/core';
import type { BlacklistService } from './service/BlacklistService.js';
import type { IndicatorType, SourceCategory } from './indicators/types.js';

const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length ? v.map(String).flatMap((s) => s.split(',')) : undefined);

/** Left-aligned columns, two spaces apart; the first row is the header. */
function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

/** `tip blacklist export|sources|weights`: read-only commands (mode `read`). */
export function blacklistCommands(svc: () => BlacklistService): CommandDefinition[] {
  return [exportCommand(svc), sourcesCommand(svc), weightsCommand(svc)];
}

/** `tip blacklist export`: the aggregated blacklist, to standard output or a file. */
function exportCommand(svc: () => BlacklistService): CommandDefinition {
  return {
    name: 'blacklist export',
    mode: 'read',
    summary: 'generate the aggregated blacklist (plain, hosts, csv, json, rpz, stix)',
    options: {
      format: { type: 'string', short: 'f', default: 'plain', valueName: '<format>', description: 'plain, hosts, csv, json, rpz or stix' },
      type: { type: 'string', multiple: true, valueName: '<type>', description: 'only ip, cidr, domain or url (repeatable)' },
      category: { type: 'string', multiple: true, valueName: '<category>', description: 'only sources of this category (repeatable)' },
      source: { type: 'string', multiple: true, valueName: '<id>', description: 'only indicators listed by this source (repeatable)' },
      'min-score': { type: 'string', valueName: '<0..1>', description: 'minimum decayed score' },
      'max-age': { type: 'string', valueName: '<duration>', description: 'only indicators seen within this duration (e.g. 7d)' },
      'no-allowlist': { type: 'boolean', description: 'keep entries that match the allow-lists' },
      name: { type: 'string', valueName: '<name>', description: 'list name (RPZ zone name when it is a DNS name)' },
      output: { type: 'string', short: 'o', valueName: '<file>', description: 'write to a file instead of standard output' },
    },
    async run({ values, out, err }) {
      const minScore = values['min-score'] === undefined ? undefined : Number(values['min-score']);
      if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) {
        err(`error: --min-score must be a number in [0, 1] (got "${String(values['min-score'])}")\n`);
        return 2;
      }
      const file = values.output === undefined ? undefined : createWriteStream(String(values.output));
      const sink = file
        ? async (chunk: string) => {
            if (!file.write(chunk)) await once(file, 'drain');
          }
        : (chunk: string) => out(chunk);
      const result = await svc().export(
        {
          format: String(values.format),
          name: values.name === undefined ? undefined : String(values.name),
          types: list(values.type) as IndicatorType[] | undefined,
          categories: list(values.category) as SourceCategory[] | undefined,
          sources: list(values.source),
          minScore,
          maxAgeMs: values['max-age'] === undefined ? undefined : parseDuration(String(values['max-age']), '--max-age'),
          applyAllowlist: !values['no-allowlist'],
        },
        sink,
      );
      if (file) {
        file.end();
        await once(file, 'close');
        err(`wrote ${result.count} indicators (${result.bytes} bytes) to ${String(values.output)}\n`);
      }
      return 0;
    },
  };
}

/** `tip blacklist sources`: sources with listings, last success and weight. */
function sourcesCommand(svc: () => BlacklistService): CommandDefinition {
  return {
    name: 'blacklist sources',
    mode: 'read',
    summary: 'list blacklist sources with their listings, last success and weight',
    options: { json: { type: 'boolean', description: 'print JSON' } },
    async run({ values, out }) {
      const sources = await svc().sources();
      const metrics = new Map((await svc().latestMetrics()).map((m) => [m.source, m]));
      const rows = sources.map((s) => ({ ...s, weight: metrics.get(s.id)?.weight, addresses: metrics.get(s.id)?.addresses ?? null }));
      if (values.json) {
        out(`${JSON.stringify(rows, null, 2)}\n`);
        return 0;
      }
      const when = (t?: number) => (t === undefined ? '-' : new Date(t).toISOString().replace('.000', ''));
      const addrs = (n: number | undefined) => (n === undefined ? '-' : n < 1e15 ? String(n) : n.toExponential(3));
      out(
        table([
          ['source', 'category', 'origin', 'enabled', 'listed', 'IPv4 addresses', 'IPv6 addresses', 'last success', 'weight'],
          ...rows.map((r) => [r.id, r.category, r.origin, r.enabled ? 'yes' : 'no', String(r.listed), addrs(r.addresses?.ipv4?.volume), addrs(r.addresses?.ipv6?.volume), when(r.lastSuccessAt), r.weight === undefined ? '-' : r.weight.toFixed(3)]),
        ]),
      );
      return 0;
    },
  };
}

/** `tip blacklist weights`: the last cycle's metrics (or computed now). */
function weightsCommand(svc: () => BlacklistService): CommandDefinition {
  return {
    name: 'blacklist weights',
    mode: 'read',
    summary: 'print every source metric and weight of the last cycle (--now: compute them now, without storing)',
    options: {
      json: { type: 'boolean', description: 'print JSON' },
      now: { type: 'boolean', description: 'compute from the stored history now instead (nothing is stored)' },
    },
    async run({ values, out }) {
      const metrics = values.now ? await svc().computeWeights({ store: false }) : await svc().latestMetrics();
      if (values.json) {
        out(`${JSON.stringify(metrics, null, 2)}\n`);
        return 0;
      }
      const pct = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${(n * 100).toFixed(1)}%`);
      const count = (n: number | undefined) => (n === undefined ? '-' : n < 1e15 ? String(n) : n.toExponential(3));
      out(
        table([
          ['source', 'volume', 'exclusive', 'fp rate', 'IPv4 addresses', 'excl. (addr)', 'fp (addr)', 'IPv6 addresses', 'availability', 'churn', 'weight'],
          ...metrics.map((m) => {
            const v4 = m.addresses?.ipv4 ?? undefined;
            const v6 = m.addresses?.ipv6 ?? undefined;
            return [m.source, String(m.volume), pct(m.exclusive), pct(m.falsePositiveRate), count(v4?.volume), pct(v4?.exclusive), pct(v4?.falsePositiveRate), count(v6?.volume), pct(m.availability), m.churn.toFixed(2), m.weight.toFixed(3)];
          }),
        ]),
      );
      return 0;
    },
  };
}
