// Reward over time by model: the mean feedback reward of the decisions each model served, in
// time buckets, from the scenario's decision log (GET /api/decisions?feedback=true).
import type uPlot from 'uplot';
import { decisions } from '../api/endpoints';
import type { Decision, DecisionItem } from '../api/types';
import { Chart } from './Chart';
import { COLORS } from './Curves';
import { ErrorBox, useLoad } from './ui';

const BUCKETS = 24;
const READ = 20_000; // the latest decisions and calls read: a page per thousand

export interface RewardSeries {
  models: string[];
  data: uPlot.AlignedData; // x: each bucket's middle (unix seconds); then a mean per model
  rated: number; // decisions with feedback: the only ones that count
}

/** Bucket the rated decisions by time, evenly from the first to the last, and average each
 * model's rewards in each bucket (null where it served none rated there). Decisions without
 * feedback are left out: no feedback is not a reward of zero. */
export function rewardByModel(items: DecisionItem[], buckets = BUCKETS): RewardSeries {
  const rated = items.filter(
    (i): i is Decision & { reward: number } => i.kind === 'decision' && typeof i.reward === 'number',
  );
  if (!rated.length) return { models: [], data: [[]], rated: 0 };
  // A loop, not Math.min(...times): tens of thousands of arguments overflow the stack.
  const start = rated.reduce((least, d) => Math.min(least, d.time), Infinity);
  const end = rated.reduce((most, d) => Math.max(most, d.time), -Infinity);
  const width = Math.max(1, (end - start) / buckets);
  const models = [...new Set(rated.map((d) => d.model_id))];
  const sums = models.map(() => new Array<number>(buckets).fill(0));
  const counts = models.map(() => new Array<number>(buckets).fill(0));
  for (const d of rated) {
    const b = Math.min(buckets - 1, Math.floor((d.time - start) / width));
    const m = models.indexOf(d.model_id);
    sums[m][b] += d.reward;
    counts[m][b] += 1;
  }
  const used = [...Array(buckets).keys()].filter((b) => counts.some((c) => c[b] > 0));
  const x = used.map((b) => start + (b + 0.5) * width);
  const ys = models.map((_, m) => used.map((b) => (counts[m][b] ? sums[m][b] / counts[m][b] : null)));
  return { models, data: [x, ...ys] as uPlot.AlignedData, rated: rated.length };
}

export function RewardByModel({
  scenario,
  nameOf,
  changed,
}: {
  scenario: string;
  nameOf: (id: string) => string;
  changed: unknown;
}) {
  const found = useLoad(() => decisions.list(scenario, READ, true), [scenario, changed]);
  const shown = found.value ? rewardByModel(found.value) : null;
  return (
    <div class="reward-by-model">
      <ErrorBox error={found.error} />
      {shown && !shown.rated && <p class="muted">No decision with feedback yet: nothing to chart.</p>}
      {shown && shown.rated > 0 && (
        <>
          <Chart
            title="Mean reward by model"
            xLabel="time"
            xTime
            yRange={[-1, 1]}
            series={shown.models.map((id, i) => ({
              label: nameOf(id),
              color: COLORS[i % COLORS.length],
              points: true,
            }))}
            data={shown.data}
          />
          <p class="muted">
            {shown.rated} decisions with feedback, in {shown.data[0].length} time buckets; decisions without feedback
            are left out.
          </p>
        </>
      )}
    </div>
  );
}
