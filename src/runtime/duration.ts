/**
 * How every output prints a duration (virtual ns, the runtime's clock): the
 * text tables, the HTML pages (their chart axes too), the trace headers and the
 * oracle's violation messages, so that one figure of one run reads the same in
 * each: here, below the oracle and the report (report/duration.ts re-exports
 * it). Three significant digits, trailing zeros kept, in the largest unit that
 * leaves at least one digit before the point:
 * 950ns, 4.10µs, 22.6µs, 950µs, 1.00ms, 20.0ms, 1.20s. Under 1 µs whole ns.
 * The unit follows the rounded figure: 999,600 ns is 1.00ms, not 1000µs.
 *
 * It refers to nothing outside itself: the pages' chart script runs its
 * source text (fmtNs.toString()), so that a chart's axis prints as its table.
 */
export function fmtNs(ns: number): string {
  const a = Number(Math.abs(ns).toPrecision(3));
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)}µs`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)}ms`;
  const s = ns / 1e9;
  return a < 1e12 ? `${s.toPrecision(3)}s` : `${Math.round(s)}s`;
}
