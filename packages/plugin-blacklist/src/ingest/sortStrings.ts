import type { Yielder } from './Yielder.js';

/** Values sorted natively in one go by {@link sortStrings} (a few ms of work). */
const RUN = 16_384;

/**
 * Sorts strings in place of a copy, in the order of `Array.prototype.sort()` without a comparator
 * (UTF-16 code units), cut into slices by `y`: runs of 16k values are sorted natively, then merged
 * pairwise. A native sort of a million strings would hold the event loop for about a second.
 * @returns the sorted values (`values` itself when it is short; a new array otherwise)
 */
export async function sortStrings(values: string[], y: Yielder): Promise<string[]> {
  const n = values.length;
  if (n <= RUN) return values.sort();
  let src = values.slice();
  for (let lo = 0; lo < n; lo += RUN) {
    const run = src.slice(lo, lo + RUN).sort();
    for (let k = 0; k < run.length; k++) src[lo + k] = run[k]!;
    await y.checkpoint();
  }
  let dst = new Array<string>(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        dst[k++] = src[j]! < src[i]! ? src[j++]! : src[i++]!;
        if (y.due()) await y.pause();
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  return src;
}
