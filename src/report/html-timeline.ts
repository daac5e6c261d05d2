import { fmtNs } from './duration.js';
import { esc } from './html-page.js';
import { LANE_STATES, type LaneState, type RunSeries } from './series.js';

/** Colour of each lane state. */
export const STATE_COLORS: Record<LaneState, string> = {
  '.': '#f2f2f2',
  g: '#7cc47f',
  f: '#f4b942',
  a: '#00897b',
  w: '#e53935',
  r: '#64b5f6',
  W: '#6a1b9a',
  x: '#ec407a',
  n: '#90a4ae',
  z: '#8d1c1c',
  m: '#a1887f',
};

/** The colour legend of the timeline. */
export function timelineLegend(): string {
  return `<div class="legend">${(Object.keys(LANE_STATES) as LaneState[])
    .map((k) => `<span style="--c:${STATE_COLORS[k]}">${esc(LANE_STATES[k])}</span>`)
    .join('')}</div>`;
}

/**
 * A simplified timeline as inline SVG: one lane per thread, each bin coloured
 * by what the thread mostly did in it; runs of a state are one rectangle with
 * a tooltip.
 */
export function timelineSvg(series: RunSeries, opts: { id?: string; laneHeight?: number; endNs?: number } = {}): string {
  const labelW = 120;
  const plotW = 960;
  const laneH = opts.laneHeight ?? 16;
  const gap = 3;
  const axisH = 22;
  const lanes = series.lanes;
  const h = lanes.length * (laneH + gap) + axisH;
  const w = labelW + plotW + 40;
  // The axis may run past this run's end, so that several runs share one scale.
  const axisEnd = Math.max(series.endNs, opts.endNs ?? 0);
  const px = (plotW * (series.endNs / axisEnd)) / series.bins;
  const parts: string[] = [];
  lanes.forEach((lane, i) => {
    const y = i * (laneH + gap);
    parts.push(`<text x="${labelW - 6}" y="${y + laneH - 4}" text-anchor="end" font-size="12" font-family="ui-monospace,monospace">${esc(lane.name)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y}" width="${(series.bins * px).toFixed(2)}" height="${laneH}" fill="${STATE_COLORS['.']}"/>`);
    let b = 0;
    const s = lane.states;
    while (b < s.length) {
      const st = s[b] as LaneState;
      let e = b + 1;
      while (e < s.length && s[e] === st) e++;
      if (st !== '.') {
        const t0 = b * series.binNs;
        const t1 = e * series.binNs;
        parts.push(
          `<rect class="seg" data-state="${esc(st)}" x="${(labelW + b * px).toFixed(2)}" y="${y}" width="${((e - b) * px).toFixed(2)}" height="${laneH}" fill="${STATE_COLORS[st]}"><title>${esc(`${lane.name}: ${LANE_STATES[st]}, ${fmtNs(t0)} – ${fmtNs(t1)}`)}</title></rect>`,
        );
      }
      b = e;
    }
  });
  const yAxis = lanes.length * (laneH + gap) + 2;
  for (let k = 0; k <= 10; k++) {
    const x = labelW + (plotW * k) / 10;
    parts.push(`<line x1="${x}" y1="0" x2="${x}" y2="${yAxis}" stroke="#0002"/>`);
    parts.push(`<text x="${x}" y="${yAxis + 14}" text-anchor="middle" font-size="11">${esc(fmtNs((axisEnd * k) / 10))}</text>`);
  }
  return `<svg ${opts.id ? `id="${esc(opts.id)}" ` : ''}class="timeline-svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="thread timeline">${parts.join('')}</svg>`;
}
