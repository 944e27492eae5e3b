/**
 * The time-series chart (uPlot): one line per series, a legend with their labels that
 * shows the values under the cursor, drag to zoom, double-click to zoom out. The
 * chart's element holds its uPlot instance (`chart`, whose `data` is what was drawn)
 * and how long the answer took to reach the first frame (data-draw-ms).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Line {
  readonly label: string;
  /** One per x, null where the series has no value. */
  readonly values: readonly (number | null)[];
}

const charts = new WeakMap<HTMLElement, uPlot>();

/** A colour per series, spread around the wheel. */
const colour = (i: number): string => `hsl(${(i * 137.508) % 360}, 65%, 45%)`;

/** Draws `lines` over `xs` (epoch seconds) in `element`, replacing what was there; `since` is when the answer arrived. */
export function drawChart(element: HTMLElement, xs: readonly number[], lines: readonly Line[], since: number): void {
  clearChart(element);
  const data = [xs, ...lines.map((line) => line.values)] as uPlot.AlignedData;
  const options: uPlot.Options = {
    width: Math.max(320, element.clientWidth),
    height: 360,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    legend: { live: true },
    series: [{}, ...lines.map((line, i) => ({ label: line.label, stroke: colour(i), width: 1.25, spanGaps: false }))],
    axes: [{}, { size: 70 }],
    hooks: {
      draw: [
        () => {
          if (element.dataset.drawMs === undefined) element.dataset.drawMs = (performance.now() - since).toFixed(1);
        },
      ],
    },
  };
  const chart = new uPlot(options, data, element);
  charts.set(element, chart);
  Object.assign(element, { chart });
}

/** Removes the chart in `element`, if any. */
export function clearChart(element: HTMLElement): void {
  charts.get(element)?.destroy();
  charts.delete(element);
  element.replaceChildren();
  Object.assign(element, { chart: undefined });
  delete element.dataset.drawMs;
}

window.addEventListener('resize', () => {
  for (const element of document.querySelectorAll<HTMLElement>('.chart')) {
    charts.get(element)?.setSize({ width: Math.max(320, element.clientWidth), height: 360 });
  }
});
