/** Most events in any window of `ms` that starts at an event. */
export function busiestWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j]! < t[i]! + ms) j++;
    best = Math.max(best, j - i);
  }
  return best;
}
