import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtPct } from '../format';

/** GET /api/blacklist/overlap. */
export interface Overlap {
  sources: { id: string; title: string }[];
  matrix: number[][];
  counts: number[][];
}

/** Colour of a 0..1 share: white → deep blue. */
function shade(v: number): string {
  const t = Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0));
  const r = Math.round(255 - t * (255 - 29));
  const g = Math.round(255 - t * (255 - 78));
  const b = Math.round(255 - t * (255 - 216));
  return `rgb(${r}, ${g}, ${b})`;
}

/**
 * The source overlap heat map as a CSS grid: cell [i][j] = share of i's listings j also lists.
 * Colours are set through the CSSOM (the CSP allows no inline style attributes); labels are text.
 */
export function Heatmap({ overlap, onSelect }: { overlap: Overlap; onSelect?: (id: string) => void }) {
  const gridRef = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<string>('');
  const n = overlap.sources.length;
  useEffect(() => {
    const grid = gridRef.current;
    if (!grid) return;
    grid.style.gridTemplateColumns = `minmax(8rem, 14rem) repeat(${n}, minmax(1.8rem, 4rem))`;
    for (const cell of Array.from(grid.querySelectorAll<HTMLElement>('[data-v]'))) {
      const v = Number(cell.dataset.v);
      cell.style.backgroundColor = shade(v);
      cell.style.color = v > 0.55 ? '#fff' : '#1f2937';
    }
  }, [overlap, n]);
  if (n === 0) return <p class="muted">No sources yet.</p>;
  return (
    <div class="heatmap-wrap">
      <div class="heatmap" ref={gridRef} role="table" aria-label="Source overlap">
        <div class="hm-corner">listed by →</div>
        {overlap.sources.map((s, j) => (
          <div class="hm-col" key={`c${j}`} title={s.title}>
            <span>{s.id}</span>
          </div>
        ))}
        {overlap.sources.map((row, i) => [
          <button type="button" class="hm-row link" key={`r${i}`} title={row.title} onClick={() => onSelect?.(row.id)}>
            {row.id}
          </button>,
          ...overlap.sources.map((col, j) => {
            const v = overlap.matrix[i]?.[j] ?? 0;
            const c = overlap.counts[i]?.[j];
            const text = `${row.id} → ${col.id}: ${fmtPct(v)} of ${row.id}'s listings${c !== undefined ? ` (${c})` : ''}`;
            return (
              <div class="hm-cell" key={`${i}-${j}`} data-v={String(v)} title={text} onMouseEnter={() => setHover(text)}>
                {i === j ? '' : Math.round(v * 100)}
              </div>
            );
          }),
        ])}
      </div>
      <p class="muted hm-hover">{hover || 'Row i, column j: share of i\u2019s listings that j also lists (%).'}</p>
    </div>
  );
}
