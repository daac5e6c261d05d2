import { esc } from './html-page.js';

/** One bar: a variant's value of a metric. */
export interface Bar {
  label: string;
  value: number;
  /** Printed at the bar's end. */
  text: string;
  color: string;
  /** Drawn with a red outline and a warning mark. */
  bad?: boolean;
}

/**
 * A small horizontal bar chart as inline SVG: every variant on the same scale
 * (zero to the largest value), so that differences read at a glance.
 */
export function barChart(title: string, bars: Bar[], id?: string): string {
  // Room for the longest label at 12px (about 7px a character).
  const labelW = Math.max(120, 12 + 7 * Math.max(0, ...bars.map((b) => b.label.length)));
  const plotW = 220;
  const barH = 18;
  const gap = 6;
  const top = 22;
  const h = top + bars.length * (barH + gap);
  const w = labelW + plotW + 200;
  const max = Math.max(0, ...bars.map((b) => b.value));
  const parts: string[] = [`<text x="0" y="14" font-size="13" font-weight="600">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    const bw = max > 0 ? Math.max(b.value > 0 ? 2 : 0, (b.value / max) * plotW) : 0;
    parts.push(`<text x="${labelW - 6}" y="${y + barH - 5}" text-anchor="end" font-size="12">${esc(b.label)}</text>`);
    parts.push(
      `<rect x="${labelW}" y="${y}" width="${bw.toFixed(1)}" height="${barH}" fill="${b.color}"${b.bad ? ' stroke="#c62828" stroke-width="3"' : ''}><title>${esc(`${b.label}: ${b.text}`)}</title></rect>`,
    );
    parts.push(
      `<text x="${labelW + bw + 6}" y="${y + barH - 5}" font-size="12"${b.bad ? ' fill="#c62828" font-weight="700"' : ''}>${esc(b.bad ? `${b.text} ⚠` : b.text)}</text>`,
    );
  });
  return `<svg ${id ? `id="${esc(id)}" ` : ''}class="bars" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}
