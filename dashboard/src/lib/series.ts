// A run's curves: its updates as columns, smoothing and downsampling. Pure: no DOM, no I/O.
import type { Status, Update } from '../api/types';

/** The numbers charted for every update, each a column beside `episode`. */
export const METRICS = ['accuracy', 'avg_reward', 'loss', 'episodes_per_second'] as const;
export type Metric = (typeof METRICS)[number];

/** Beyond this many points a chart draws every k-th one (and the last): see `downsample`. */
export const MAX_POINTS = 5_000;

export class RunHistory {
  lastSeq = 0;
  readonly episode: number[] = [];
  readonly columns: Record<Metric, number[]> = { accuracy: [], avg_reward: [], loss: [], episodes_per_second: [] };
  /** Held-out accuracy by the episode it was measured at: one point per measurement. */
  readonly heldout = new Map<number, number>();
  private lastHeldout: number | null = null;

  /** Take updates in `seq` order; any already taken (a replay) are skipped. */
  add(updates: Iterable<Update>): boolean {
    let changed = false;
    for (const update of updates) {
      if (update.seq <= this.lastSeq) continue;
      this.lastSeq = update.seq;
      this.addStatus(update.data);
      changed = true;
    }
    return changed;
  }

  private addStatus(data: Status): void {
    const x = data.current_episode;
    const last = this.episode.length - 1;
    if (last >= 0 && x < this.episode[last]) return; // never goes back; a stale copy
    if (last >= 0 && x === this.episode[last]) {
      for (const m of METRICS) this.columns[m][last] = data[m]; // the same episode, newer numbers
    } else {
      this.episode.push(x);
      for (const m of METRICS) this.columns[m].push(data[m]);
    }
    this.addHeldout(data, x);
  }

  private addHeldout(data: Status, x: number): void {
    const at = data.heldout_episode;
    if (at !== undefined) {
      if (at !== null) this.heldout.set(at, data.heldout_accuracy);
      return;
    }
    // A backend without `heldout_episode`: a measurement is where the figure changes.
    if (data.heldout_accuracy !== this.lastHeldout && (this.lastHeldout !== null || data.heldout_accuracy !== 0)) {
      this.heldout.set(x, data.heldout_accuracy);
    }
    this.lastHeldout = data.heldout_accuracy;
  }

  get length(): number {
    return this.episode.length;
  }
}

/**
 * Which points of `n` a chart draws: all of them up to `max`; past that every k-th (k the
 * smallest stride that fits) plus the last, so the newest point is always drawn. History is
 * thinned in two places: the API thins a long session's recorded updates to MAX_POINTS when
 * a chart first reads them (`/metrics?points=`, see `training.metrics`), and this thins what a
 * chart draws once live updates have grown it past MAX_POINTS again (the Run and Compare
 * charts both draw through it).
 */
export function downsample(n: number, max = MAX_POINTS): number[] {
  const stride = Math.max(1, Math.ceil(n / max));
  const kept: number[] = [];
  for (let i = 0; i < n; i += stride) kept.push(i);
  if (n > 0 && kept[kept.length - 1] !== n - 1) kept.push(n - 1);
  return kept;
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled
 * towards zero); `weight` 0 is no smoothing, 0.99 very smooth. Nulls stay null.
 */
export function ema(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length);
  let last = 0;
  let steps = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    steps++;
    out[i] = weight > 0 ? last / (1 - weight ** steps) : v;
  }
  return out;
}

export interface Line {
  x: number[];
  y: number[];
}

/** A metric of a run as drawn: thinned as `downsample` says. */
export function line(history: RunHistory, metric: Metric, max = MAX_POINTS): Line {
  const kept = downsample(history.length, max);
  const column = history.columns[metric];
  return { x: kept.map((i) => history.episode[i]), y: kept.map((i) => column[i]) };
}

/** Held-out accuracy as points, in episode order. */
export function heldoutLine(history: RunHistory): Line {
  const x = [...history.heldout.keys()].sort((a, b) => a - b);
  return { x, y: x.map((e) => history.heldout.get(e)!) };
}

/**
 * Lines on one x axis (uPlot's aligned data): the union of their episodes, each line null
 * where it has no point (drawn across the gap, or as points alone).
 */
export function align(lines: Line[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    l.x.forEach((x, i) => (column[index.get(x)!] = l.y[i]));
    return column;
  });
  return [xs, ...ys];
}
