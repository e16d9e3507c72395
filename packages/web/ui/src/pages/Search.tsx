import { useEffect, useState } from 'preact/hooks';
import { get, query } from '../api';
import { Card, ErrorBox } from '../components/common';
import { fmtDate, fmtNum } from '../format';
import { href, navigate, type Route } from '../router';
import type { SearchPage } from '../types';

const FIELDS = ['q', 'type', 'source', 'minScore', 'since'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;

function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? ''])) as Filters;
}

/** Indicator search (`#/search?q=&type=&source=&minScore=&since=`), paged with the cursor. */
export function Search({ route }: { route: Route }) {
  const applied = filtersOf(route.params);
  const key = FIELDS.map((f) => applied[f]).join('\u0000');
  const [form, setForm] = useState<Filters>(applied);
  const [items, setItems] = useState<SearchPage['items']>([]);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<number | undefined>();
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const fetchPage = async (cursor: string | null): Promise<SearchPage> =>
    get<SearchPage>('blacklist/search' + query({ ...applied, limit: 50, cursor }));

  useEffect(() => {
    let live = true;
    setForm(applied);
    setBusy(true);
    setError(undefined);
    setDone(false);
    fetchPage(null).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setNext(page.nextCursor);
        setTotal(page.total);
        setTruncated(!!page.truncated);
        setBusy(false);
        setDone(true);
      },
      (err: Error) => {
        if (!live) return;
        setItems([]);
        setNext(null);
        setError(err);
        setBusy(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const more = async (): Promise<void> => {
    if (!next) return;
    setBusy(true);
    try {
      const page = await fetchPage(next);
      setItems((old) => [...old, ...page.items]);
      setNext(page.nextCursor);
      setTruncated(!!page.truncated);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: Event): void => {
    e.preventDefault();
    navigate(href(['search'], form));
  };
  const field = (name: keyof Filters) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });

  return (
    <>
      <Card title="Search indicators">
        <form class="search-form" onSubmit={submit}>
          <input {...field('q')} type="search" class="grow" placeholder="IP, CIDR (every listed address inside), domain or URL" aria-label="query" />
          <select {...field('type')} aria-label="type">
            <option value="">any type</option>
            <option value="ip">ip</option>
            <option value="cidr">cidr</option>
            <option value="domain">domain</option>
            <option value="url">url</option>
          </select>
          <input {...field('source')} placeholder="source id" aria-label="source" size={12} />
          <input {...field('minScore')} placeholder="min score" aria-label="minimum score" size={8} inputMode="decimal" />
          <input {...field('since')} placeholder="since (7d or ISO)" aria-label="since" size={14} />
          <button type="submit" class="btn-primary">
            Search
          </button>
        </form>
      </Card>
      <Card title={done ? `Results${total !== undefined ? ` (${fmtNum(total)})` : ` (${items.length}${next ? '+' : ''})`}` : 'Results'}>
        <ErrorBox error={error} />
        {done && items.length === 0 && !error ? <p class="muted">Nothing listed matches.</p> : null}
        {items.length > 0 ? (
          <table class="table results">
            <thead>
              <tr>
                <th>indicator</th>
                <th>type</th>
                <th class="num">score</th>
                <th>sources</th>
                <th>first seen</th>
                <th>last seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((it, i) => (
                <tr key={`${it.type}:${it.value}:${i}`}>
                  <td class="value">
                    <a href={href(['indicator', it.value])}>{it.value}</a>
                  </td>
                  <td>{it.type}</td>
                  <td class="num">{fmtNum(it.score)}</td>
                  <td class="wrap">
                    {it.sources.map((s) => (
                      <a key={s.id} class="chip" href={href(['source', s.id])} title={s.title}>
                        {s.id}
                      </a>
                    ))}
                  </td>
                  <td>{fmtDate(it.firstSeen)}</td>
                  <td>{fmtDate(it.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {truncated && next ? <p class="muted">The server stopped this page after a bounded scan; “More” goes on.</p> : null}
        <div class="pager">
          {busy ? <span class="muted">loading…</span> : null}
          {next && !busy ? (
            <button type="button" class="btn-more" onClick={() => void more()}>
              More
            </button>
          ) : null}
        </div>
      </Card>
    </>
  );
}
