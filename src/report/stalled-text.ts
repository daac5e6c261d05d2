/**
 * A livelock's stall as a table shows it: the result's `progress.stalled`
 * ("memslot 1 delete: no completion for 20068495 ns, no progress for the last
 * 20045740 ns", simulate.ts: data, in ns, as the JSON keeps it) with each time in
 * `fmt`, as the table's other times are (20.1ms).
 */
export function stalledText(stalled: string, fmt: (ns: number) => string): string {
  return stalled.replace(/\b(\d+) ns\b/g, (_, ns: string) => fmt(Number(ns)));
}
