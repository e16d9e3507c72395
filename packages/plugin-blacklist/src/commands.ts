import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { isTipError, parseDuration, TipErrorCodes, type CommandDefinition } from '@tip/core';
import type { BlacklistService } from './service/BlacklistService.js';
import type { WriteExportResult } from './export/index.js';
import type { Verdict, VerdictEntry } from './service/explain.js';
import type { IndicatorType, SourceCategory } from './indicators/types.js';

const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length ? v.map(String).flatMap((s) => s.split(',')) : undefined);

/** Left-aligned columns, two spaces apart; the first row is the header. */
function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

/** `; from N entries; A ip/cidr entries aggregated into B blocks; skipped 3 url, …` for the export message. */
function summary(r: WriteExportResult): string {
  const parts: string[] = [];
  if (r.written !== r.count) parts.push(`from ${r.count} entries`);
  if (r.aggregated) parts.push(`${r.aggregated.entries} ip/cidr entries aggregated into ${r.aggregated.blocks} blocks`);
  const skipped = Object.entries(r.skipped).sort(([a], [b]) => a.localeCompare(b));
  if (skipped.length > 0) parts.push(`skipped ${skipped.map(([k, n]) => `${n} ${k}`).join(', ')}`);
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

/** `tip blacklist export|sources|weights|explain`: read-only commands (mode `read`). */
export function blacklistCommands(svc: () => BlacklistService): CommandDefinition[] {
  return [exportCommand(svc), sourcesCommand(svc), weightsCommand(svc), explainCommand(svc)];
}

/** `tip blacklist export`: the aggregated blacklist, to standard output or a file. */
function exportCommand(svc: () => BlacklistService): CommandDefinition {
  return {
    name: 'blacklist export',
    mode: 'read',
    summary: 'generate the aggregated blacklist (plain, hosts, csv, json, rpz, stix, ipset, nftables, misp)',
    options: {
      format: { type: 'string', short: 'f', default: 'plain', valueName: '<format>', description: 'plain, hosts, csv, json, rpz, stix, ipset, nftables, misp or a registered format' },
      aggregate: { type: 'boolean', description: 'merge ip/cidr entries into the minimal CIDR list (default for ipset and nftables)' },
      'no-aggregate': { type: 'boolean', description: 'keep ip/cidr entries as listed (ipset)' },
      type: { type: 'string', multiple: true, valueName: '<type>', description: 'only ip, cidr, domain or url (repeatable)' },
      category: { type: 'string', multiple: true, valueName: '<category>', description: 'only sources of this category (repeatable)' },
      source: { type: 'string', multiple: true, valueName: '<id>', description: 'only indicators listed by this source (repeatable)' },
      'min-score': { type: 'string', valueName: '<0..1>', description: 'minimum decayed score' },
      'max-age': { type: 'string', valueName: '<duration>', description: 'only indicators seen within this duration (e.g. 7d)' },
      'no-allowlist': { type: 'boolean', description: 'keep entries that match the allow-lists' },
      name: { type: 'string', valueName: '<name>', description: 'list name (RPZ zone name when it is a DNS name; ipset/nftables set name)' },
      output: { type: 'string', short: 'o', valueName: '<file>', description: 'write to a file instead of standard output (misp: the feed directory)' },
    },
    async run({ values, out, err }) {
      const minScore = values['min-score'] === undefined ? undefined : Number(values['min-score']);
      if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) {
        err(`error: --min-score must be a number in [0, 1] (got "${String(values['min-score'])}")\n`);
        return 2;
      }
      if (values.aggregate && values['no-aggregate']) {
        err('error: --aggregate and --no-aggregate exclude each other\n');
        return 2;
      }
      const aggregate = values.aggregate ? true : values['no-aggregate'] ? false : undefined;
      const options = {
        format: String(values.format),
        name: values.name === undefined ? undefined : String(values.name),
        types: list(values.type) as IndicatorType[] | undefined,
        categories: list(values.category) as SourceCategory[] | undefined,
        sources: list(values.source),
        minScore,
        maxAgeMs: values['max-age'] === undefined ? undefined : parseDuration(String(values['max-age']), '--max-age'),
        applyAllowlist: !values['no-allowlist'],
        aggregate,
      };
      if (options.format === 'misp' && values.output !== undefined) {
        const r = await svc().exportMispFeed(String(values.output), options);
        err(`wrote a MISP feed of ${r.written} attributes (event ${r.eventUuid}, ${r.bytes} bytes)${summary(r)} to ${String(values.output)}\n`);
        return 0;
      }
      const file = values.output === undefined ? undefined : createWriteStream(String(values.output));
      const sink = file
        ? async (chunk: string) => {
            if (!file.write(chunk)) await once(file, 'drain');
          }
        : (chunk: string) => out(chunk);
      let result: WriteExportResult;
      try {
        result = await svc().export(options, sink);
      } finally {
        if (file) {
          file.end();
          await once(file, 'close');
        }
      }
      if (file) err(`wrote ${result.written} indicators (${result.bytes} bytes)${summary(result)} to ${String(values.output)}\n`);
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

/** `tip blacklist explain <value>`: why a value scores what it scores (see `BlacklistService.explain`). */
function explainCommand(svc: () => BlacklistService): CommandDefinition {
  return {
    name: 'blacklist explain',
    mode: 'read',
    summary: 'explain the verdict on an IP, CIDR, domain or URL: listings, weights, decay, allow-list, score',
    args: '<value>',
    options: { json: { type: 'boolean', description: 'print the verdict as JSON' } },
    async run({ values, positionals, out, err }) {
      if (positionals.length !== 1) {
        err(`error: expected one value to explain (got ${positionals.length}); usage: tip blacklist explain <value> [--json]\n`);
        return 2;
      }
      let verdict: Verdict;
      try {
        verdict = await svc().explain(positionals[0]!);
      } catch (e) {
        if (isTipError(e, TipErrorCodes.INPUT_INVALID)) {
          err(`error: ${e.message}\n`);
          return 2;
        }
        throw e;
      }
      out(values.json ? `${JSON.stringify(verdict, null, 2)}\n` : formatVerdict(verdict));
      return 0;
    },
  };
}

const when = (d: Date | null) => (d === null ? '-' : d.toISOString().replace('.000', ''));
const age = (ms: number | null) => (ms === null ? '-' : ms < 3_600_000 ? `${Math.round(ms / 60_000)}m` : ms < 172_800_000 ? `${(ms / 3_600_000).toFixed(1)}h` : `${(ms / 86_400_000).toFixed(1)}d`);

function formatEntry(e: VerdictEntry, label: string): string {
  const head = `${label} ${e.indicator.type} ${e.indicator.value}: score ${e.score.toFixed(3)} = ${e.baseScore.toFixed(3)} × decay ${e.decayFactor.toFixed(3)} (age ${age(e.ageMs)}; τ ${age(e.decay.tauMs)}, δ ${e.decay.delta})${e.allowlisted ? `; allow-listed: ${e.allowlisted.reason}` : ''}\n`;
  const rows = e.listings.map((l) => [`  ${l.source}`, l.category, l.enabled ? 'yes' : 'no (ignored)', l.weight.toFixed(3), when(l.listedSince), when(l.lastSeen), age(l.ageMs), l.decayFactor.toFixed(3)]);
  return head + table([['  source', 'category', 'enabled', 'weight', 'listed since', 'last seen', 'age', 'decay'], ...rows]);
}

/** The human-readable form of a verdict. */
function formatVerdict(v: Verdict): string {
  const parts: string[] = [];
  const state = v.listed ? (v.exported ? 'listed' : 'listed, not exported (allow-listed)') : 'not listed';
  parts.push(`${v.indicator.type} ${v.indicator.value}: score ${v.score.toFixed(3)} (${state})${v.related.length ? `; highest related score ${v.relatedScore.toFixed(3)}` : ''}\n`);
  parts.push(`  ${v.combination}\n`);
  parts.push(`allow-list: ${v.allowlisted ? `${v.allowlisted.list}${v.allowlisted.entry ? ` (${v.allowlisted.entry})` : ''}: ${v.allowlisted.reason}` : 'no match'}\n`);
  if (v.exact) parts.push(`\n${formatEntry(v.exact, 'listed itself:')}`);
  for (const r of v.related) parts.push(`\n${formatEntry(r, `${r.match}:`)}`);
  if (v.sources.length) {
    parts.push('\nsource weights:\n');
    for (const s of v.sources) {
      let how: string;
      if (!s.metrics || !s.breakdown) how = 'default weight (no metrics yet)';
      else if (s.breakdown.formula === 'custom') how = `custom formula, metrics of ${when(new Date(s.metrics.computedAt))}`;
      else if (s.breakdown.emptyVolume) how = 'nothing listed in the window: 0';
      else {
        const terms = s.breakdown.terms.filter((t) => t.counted).map((t) => `${t.term} ${t.value!.toFixed(3)}×${t.weight}`).join(', ');
        how = `(1 − fpr ${s.metrics.falsePositiveRate.toFixed(3)})^${s.breakdown.params?.weights.fpr ?? 2} = ${s.breakdown.fprFactor.toFixed(3)} × weighted mean ${s.breakdown.mean.toFixed(3)} of ${terms || 'no known term'}; metrics of ${when(new Date(s.metrics.computedAt))}${s.breakdownMatches ? '' : ' (formula changed since: the stored weight is used)'}`;
      }
      parts.push(`  ${s.id}${s.enabled ? '' : ' (disabled)'}: weight ${s.weight.toFixed(3)} — ${how}\n`);
    }
  }
  return parts.join('');
}
