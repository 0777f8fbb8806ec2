// How numbers and times read on every page.
export const percent = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(1)}%`);
export const fixed = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
export const count = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : v.toLocaleString('en-US');

/** A tool's precision: "-" when it was never called (null), the same on every page. */
export const precision = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(2));

export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export const shortId = (id: string) => id.replace(/^(session|model)_/, '').slice(0, 8);

/** A run's share done, 0 to 1 (`progress` when the API sends it). */
export function progressOf(s: { progress?: number; current_episode: number; max_episodes: number }): number {
  if (typeof s.progress === 'number') return s.progress;
  return s.max_episodes ? Math.min(1, s.current_episode / s.max_episodes) : 0;
}

/** A fresh id for an Idempotency-Key. */
export function uniqueId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A 95% interval in percent, as "91–99%". */
export const interval = (ci: number[] | null | undefined) =>
  ci && ci.length === 2 ? `${ci[0].toFixed(0)}–${ci[1].toFixed(0)}%` : '';
