/**
 * A figure over several seeds as compare's table and its HTML page show it: the
 * mean, and the range (min-max) after it where the seeds differ as printed (a
 * range whose ends print alike, 7.8µs-7.8µs, says nothing). `fmt` shows a figure;
 * `fmtMean`, the mean of differing figures (a count's to one decimal: rounded to
 * a whole number, the rows under faults would not add up to it, 14 for
 * 6 + 5.67 + 2.67). '' for no values.
 */
export function seedSpread(values: readonly number[], fmt: (n: number) => string, fmtMean: (n: number) => string, dash: string): string {
  if (values.length === 0) return '';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const lo = fmt(Math.min(...values));
  const hi = fmt(Math.max(...values));
  return lo === hi ? fmt(mean) : `${fmtMean(mean)} (${lo}${dash}${hi})`;
}

/** A count's mean where the seeds differ, to one decimal (seedSpread): compare's text table and its HTML page alike. */
export const countMean = (n: number): string => n.toFixed(1);
