import { useState } from 'preact/hooks';
import { apiUrl, query } from '../api';
import { Card } from './common';

/** The built-in export formats of the blacklist plugin (`GET /api/blacklist/export?format=`). */
const FORMATS: Array<[string, string]> = [
  ['plain', 'plain text (one per line)'],
  ['csv', 'CSV (type, value, score, dates, sources)'],
  ['json', 'JSON'],
  ['hosts', 'hosts file (domains)'],
  ['rpz', 'DNS RPZ zone'],
  ['ipset', 'ipset restore script'],
  ['nftables', 'nftables set'],
  ['stix', 'STIX 2.1 bundle'],
  ['misp', 'MISP event'],
];

/**
 * Download of the aggregated blacklist: a plain link to the export route (the session cookie
 * authorises the GET; no script handles the file), with the filters as query parameters.
 */
export function ExportCard() {
  const [format, setFormat] = useState('plain');
  const [minScore, setMinScore] = useState('');
  const [types, setTypes] = useState('');
  const [aggregate, setAggregate] = useState(false);
  const score = minScore.trim();
  const scoreOk = score === '' || (/^(0(\.\d+)?|1(\.0+)?)$/.test(score));
  const link = apiUrl(
    'blacklist/export' +
      query({ format, minScore: scoreOk && score !== '' ? score : undefined, types: types || undefined, aggregate: aggregate ? '1' : undefined }),
  );
  return (
    <Card title="Export">
      <p class="muted">The currently listed indicators of enabled sources, scored and allow-list filtered: the same list as <code>tip blacklist export</code>.</p>
      <form class="search-form export-form" onSubmit={(e) => e.preventDefault()}>
        <select name="format" aria-label="export format" value={format} onInput={(e) => setFormat(e.currentTarget.value)}>
          {FORMATS.map(([id, label]) => (
            <option key={id} value={id}>
              {label}
            </option>
          ))}
        </select>
        <select name="types" aria-label="export types" value={types} onInput={(e) => setTypes(e.currentTarget.value)}>
          <option value="">every type</option>
          <option value="ip,cidr">IPs and CIDRs</option>
          <option value="domain">domains</option>
          <option value="url">URLs</option>
        </select>
        <input name="minScore" aria-label="export minimum score" placeholder="min score (0-1)" size={12} inputMode="decimal" value={minScore} onInput={(e) => setMinScore(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" name="aggregate" checked={aggregate} onInput={(e) => setAggregate(e.currentTarget.checked)} /> merge into CIDRs
        </label>
        {scoreOk ? (
          <a class="btn btn-primary btn-download" href={link} download>
            Download
          </a>
        ) : (
          <span class="neg">min score must be a number from 0 to 1</span>
        )}
      </form>
    </Card>
  );
}
