// A uPlot chart of lines (or points) over episodes, or over time (`xTime`: x in unix seconds);
// redrawn in place when its data changes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Points, joined by a thin line (held-out accuracy, measured now and then). */
  points?: boolean;
  /** Drawn thin and pale: the raw curve behind a smoothed one. */
  faint?: boolean;
}

interface Props {
  title: string;
  series: SeriesSpec[];
  data: uPlot.AlignedData;
  height?: number;
  yRange?: [number, number];
  xLabel?: string;
  xTime?: boolean;
}

function seriesOpts(spec: SeriesSpec): uPlot.Series {
  if (spec.points) {
    return {
      label: spec.label,
      stroke: spec.color,
      width: 1,
      spanGaps: true,
      points: { show: true, size: 5, fill: spec.color },
    };
  }
  return {
    label: spec.label,
    stroke: spec.faint ? spec.color + '40' : spec.color,
    width: spec.faint ? 1 : 2,
    spanGaps: true,
    points: { show: false },
  };
}

const format = (v: number | null) =>
  v === null || v === undefined ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);

const xValue = (v: number | null, time: boolean) =>
  v === null ? '-' : time ? new Date(v * 1000).toLocaleString() : String(v);

function showLatest(u: uPlot) {
  const n = u.data[0].length;
  if (n && (u.cursor.idx === null || u.cursor.idx === undefined)) u.setLegend({ idx: n - 1 });
}

export function Chart({ title, series, data, height = 220, yRange, xLabel = 'episode', xTime = false }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = JSON.stringify([series, yRange, xLabel, xTime]);

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      title,
      width: Math.max(200, el.clientWidth),
      height,
      scales: { x: { time: xTime }, ...(yRange ? { y: { range: yRange } } : {}) },
      axes: [{ label: xLabel }, { size: 50 }],
      legend: { live: true },
      // Away from the cursor, the legend reads the latest values, not "-".
      hooks: { setCursor: [showLatest], setData: [showLatest] },
      series: [{ label: xLabel, value: (_u, v) => xValue(v, xTime) }, ...series.map(seriesOpts)],
    };
    opts.series.slice(1).forEach((s) => (s.value = (_u, v) => format(v)));
    const chart = new uPlot(opts, data, el);
    // A raw curve behind a smoothed one has no row of its own in the legend.
    const rows = chart.root.querySelectorAll<HTMLElement>('.u-legend .u-series');
    series.forEach((spec, i) => spec.faint && rows[i + 1] && (rows[i + 1].style.display = 'none'));
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape, title, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  // What it draws, for tests and benchmarks: how many points, and the last x (episode, or time).
  const last = data[0].length ? String(data[0][data[0].length - 1]) : '';
  return <div class="chart" ref={box} data-title={title} data-points={data[0].length} data-last={last} />;
}
