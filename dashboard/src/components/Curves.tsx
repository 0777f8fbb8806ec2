// The charts of one run or of several overlaid: accuracy (with held-out points), held-out
// accuracy, reward, loss and speed, each smoothed as the slider says.
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { align, ema, heldoutLine, line, type Line, type Metric, type RunHistory } from '../lib/series';
import { Chart, type SeriesSpec } from './Chart';

export interface Curve {
  label: string;
  color: string;
  history: RunHistory;
}

export const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];
const HELDOUT = '#f59e0b';

interface Drawn {
  series: SeriesSpec[];
  data: uPlot.AlignedData;
}

/** Each curve's `metric` line, smoothed (the raw line kept faint behind it), plus `extra`. */
function build(
  curves: Curve[],
  metric: Metric,
  smoothing: number,
  extra: { spec: SeriesSpec; line: Line }[] = [],
): Drawn {
  const lines: Line[] = [];
  const series: SeriesSpec[] = [];
  for (const curve of curves) {
    lines.push(line(curve.history, metric));
    series.push({ label: curve.label, color: curve.color });
  }
  for (const { spec, line: l } of extra) {
    lines.push(l);
    series.push(spec);
  }
  const [x, ...ys] = align(lines);
  const drawn: (number | null)[][] = [];
  const specs: SeriesSpec[] = [];
  ys.forEach((y, i) => {
    if (i < curves.length && smoothing > 0) {
      drawn.push(y, ema(y, smoothing));
      specs.push({ ...series[i], label: `${series[i].label} (raw)`, faint: true }, series[i]);
    } else {
      drawn.push(y);
      specs.push(series[i]);
    }
  });
  return { series: specs, data: [x, ...drawn] as uPlot.AlignedData };
}

function heldoutOnly(curves: Curve[]): Drawn {
  const [x, ...ys] = align(curves.map((c) => heldoutLine(c.history)));
  return {
    series: curves.map((c) => ({ label: c.label, color: c.color })),
    data: [x, ...ys] as uPlot.AlignedData,
  };
}

/** `version` changes whenever a history grows (histories are mutated in place). */
export function Curves({ curves, smoothing, version }: { curves: Curve[]; smoothing: number; version: number }) {
  const single = curves.length === 1;
  const charts = useMemo(() => {
    const accuracy = build(
      curves,
      'accuracy',
      smoothing,
      single
        ? [{ spec: { label: 'held out', color: HELDOUT, points: true }, line: heldoutLine(curves[0].history) }]
        : [],
    );
    return [
      {
        title: single ? 'Accuracy (%): training, and held out' : 'Training accuracy (%)',
        range: [0, 100] as [number, number],
        ...accuracy,
      },
      ...(single
        ? []
        : [{ title: 'Held-out accuracy (%)', range: [0, 100] as [number, number], ...heldoutOnly(curves) }]),
      { title: 'Average reward', ...build(curves, 'avg_reward', smoothing) },
      { title: 'Loss', ...build(curves, 'loss', smoothing) },
      { title: 'Episodes per second', ...build(curves, 'episodes_per_second', smoothing) },
    ];
  }, [curves, smoothing, version]);
  return (
    <div class="charts">
      {charts.map((c) => (
        <Chart
          key={c.title}
          title={c.title}
          series={c.series}
          data={c.data}
          yRange={'range' in c ? c.range : undefined}
        />
      ))}
    </div>
  );
}

export function Smoothing({ value, onChange }: { value: number; onChange: (v: number) => void }) {
  return (
    <label class="smoothing">
      Smoothing
      <input
        type="range"
        name="smoothing"
        min={0}
        max={0.99}
        step={0.01}
        value={value}
        onInput={(e) => onChange(Number(e.currentTarget.value))}
      />
      <output>{value.toFixed(2)}</output>
    </label>
  );
}
