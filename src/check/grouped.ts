/** A whole count as mmulab prints it, thousands grouped: 36984 → "36,984" (the progress line, the summary and the minimised line alike). */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
