/**
 * The highest index that a majority of `matches` has reached: sort descending and take the
 * value at the majority position. `scratch` avoids an allocation per call on the hot path.
 */
export function majorityIndex(matches: ArrayLike<number>, scratch: Float64Array): number {
  const n = matches.length;
  for (let i = 0; i < n; i++) scratch[i] = matches[i];
  // insertion sort, descending: n is the cluster size (3-7), so this beats Array.sort.
  for (let i = 1; i < n; i++) {
    const v = scratch[i];
    let j = i - 1;
    while (j >= 0 && scratch[j] < v) { scratch[j + 1] = scratch[j]; j--; }
    scratch[j + 1] = v;
  }
  return scratch[Math.floor(n / 2)];
}

export function isMajority(count: number, clusterSize: number): boolean {
  return count > clusterSize / 2;
}
