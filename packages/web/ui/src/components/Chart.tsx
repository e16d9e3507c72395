import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One series of a time chart. */
export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
  /** Draw as bars instead of a line. */
  bars?: boolean;
  /** Plot on the right-hand axis. */
  right?: boolean;
}

/** Bars of series `index` of `count`: two bar series stand side by side (left, right of x). */
function barPaths(index: number, count: number): uPlot.Series.PathBuilder | undefined {
  const align: -1 | 0 | 1 = count === 2 ? (index === 0 ? -1 : 1) : 0;
  return uPlot.paths.bars?.({ size: [count === 2 ? 0.35 : 0.6, 16], align, gap: 0 });
}

/**
 * A uPlot time chart (x: epoch seconds). Resizes with its container; `title` is plain text.
 */
export function TimeChart({ x, series, height = 220, label }: { x: number[]; series: ChartSeries[]; height?: number; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const hasRight = series.some((s) => s.right);
    const nBars = series.filter((s) => s.bars).length;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth || 600),
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          scale: s.right ? 'r' : 'y',
          // bar series side by side: each gets its share of the slot, shifted by its index
          ...(s.bars ? { paths: barPaths(series.filter((b) => b.bars).indexOf(s), nBars), fill: s.color + 'cc', width: 0 } : {}),
          points: { show: !s.bars && x.length < 40 },
        })),
      ],
      axes: [{}, { scale: 'y', size: 60 }, ...(hasRight ? [{ scale: 'r', side: 1, grid: { show: false }, size: 60 }] : [])],
      // uPlot pads a single x value by years; bars also need half a slot on each side
      scales: { x: { time: true, range: (_u, min, max) => xRange(x, min, max, nBars > 0) } },
      legend: { show: true },
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [x, series, height]);
  return <div class="chart" ref={ref} role="img" aria-label={label} />;
}

/** The x range in seconds: one value gets an hour either side; bars get half a slot either side. */
function xRange(x: number[], min: number, max: number, bars: boolean): uPlot.Range.MinMax {
  if (!(min < max)) return [min - 3600, max + 3600];
  if (!bars) return [min, max];
  const slot = (max - min) / Math.max(1, x.length - 1);
  return [min - slot / 2, max + slot / 2];
}
