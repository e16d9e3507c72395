/** Keys are integers in [-2^32, 2^39): shifted by this they are non-negative (radix digits). */
const KEY_SHIFT = 4294967296;

/**
 * The stable ascending order of `keys` (integers in [-2^32, 2^39)): `perm[i]` = index of the i-th
 * smallest, equal keys in index order. LSD radix sort on 11-bit digits of the shifted keys
 * (digit passes where every key has the same digit are skipped).
 * @internal
 */
export function stableKeyOrder(keys: Float64Array): Int32Array {
  const n = keys.length;
  let k: Float64Array = new Float64Array(n);
  let p = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    k[i] = keys[i]! + KEY_SHIFT;
    p[i] = i;
  }
  let k2: Float64Array = new Float64Array(n);
  let p2 = new Int32Array(n);
  const count = new Int32Array(2048);
  for (let pass = 0, div = 1; pass < 4; pass++, div *= 2048) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[Math.floor(k[i]! / div) & 2047]!++;
    if (n === 0 || count[Math.floor(k[0]! / div) & 2047] === n) continue;
    toOffsets(count);
    for (let i = 0; i < n; i++) {
      const v = k[i]!;
      const at = count[Math.floor(v / div) & 2047]!++;
      k2[at] = v;
      p2[at] = p[i]!;
    }
    const tk = k;
    k = k2;
    k2 = tk;
    const tp = p;
    p = p2;
    p2 = tp;
  }
  return p;
}

/**
 * Turns the digit counts of one radix pass into the first output index of each digit (an
 * exclusive prefix sum, in place).
 * @internal
 */
export function toOffsets(count: Int32Array): void {
  let sum = 0;
  for (let d = 0; d < count.length; d++) {
    const c = count[d]!;
    count[d] = sum;
    sum += c;
  }
}
