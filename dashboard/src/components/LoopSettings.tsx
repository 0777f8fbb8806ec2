// A loop's settings as a form that PUTs the whole loop (agentgym/loops.py LoopBody): the alias
// it serves and moves, when it runs, how its gate decides, and how a candidate trains.
import { useState } from 'preact/hooks';
import { loops } from '../api/endpoints';
import type { Alias, LoopBody, LoopView } from '../api/types';
import { ErrorBox } from './ui';

type Fields = Record<
  'alias' | 'every_decisions' | 'every_seconds' | 'estimator' | 'margin' | 'max_episodes' | 'canary',
  string
> & { model_only: boolean; prospective: boolean; shadow: boolean };

type NumberName = 'every_decisions' | 'every_seconds' | 'margin' | 'max_episodes' | 'canary';
// The API's ranges (agentgym/loops.py), so that the browser stops a value out of range at once.
type Limits = { min: number; max?: number; step: number | 'any'; placeholder?: string };

/** What the form shows of a loop (empty for a new one): numbers as typed, '' for none. */
export function fieldsOf(loop: LoopView | null, aliases: Alias[]): Fields {
  const text = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
  return {
    alias: loop?.alias ?? aliases[0]?.name ?? '',
    every_decisions: text(loop?.every_decisions),
    every_seconds: text(loop?.every_seconds),
    estimator: loop?.gate?.estimator ?? 'dr',
    margin: text(loop?.gate?.margin ?? 0),
    model_only: loop?.gate?.model_only ?? false,
    prospective: loop?.gate?.prospective ?? false,
    max_episodes: text(loop?.max_episodes),
    shadow: loop?.shadow ?? false,
    canary: text(loop?.canary ?? 0),
  };
}

function bodyOf(f: Fields): LoopBody {
  const number = (v: string) => (v.trim() === '' ? null : Number(v));
  return {
    alias: f.alias,
    every_decisions: number(f.every_decisions),
    every_seconds: number(f.every_seconds),
    gate: {
      estimator: f.estimator as 'dr' | 'ips',
      margin: number(f.margin) ?? 0,
      model_only: f.model_only,
      prospective: f.prospective,
    },
    max_episodes: number(f.max_episodes),
    shadow: f.shadow,
    canary: number(f.canary) ?? 0,
  };
}

/** The form; the parent keys it by the loop's settings, so that a change saved anywhere shows,
 * and a reload of the runs meanwhile leaves what is being typed alone. */
export function LoopSettings({
  scenario,
  loop,
  aliases,
  onSaved,
}: {
  scenario: string;
  loop: LoopView | null;
  aliases: Alias[];
  onSaved: (view: LoopView) => void;
}) {
  const [fields, setFields] = useState(() => fieldsOf(loop, aliases));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof Fields) => (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    setFields({ ...fields, [name]: input.type === 'checkbox' ? input.checked : input.value });
  };
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(await loops.set(scenario, bodyOf(fields)));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const number = (name: NumberName, label: string, limits: Limits) => (
    <label>
      {label}
      <input name={name} type="number" {...limits} value={fields[name]} onInput={set(name)} />
    </label>
  );
  const check = (name: 'model_only' | 'prospective' | 'shadow', label: string) => (
    <label class="check">
      <input name={name} type="checkbox" checked={fields[name]} onChange={set(name)} /> {label}
    </label>
  );
  return (
    <form class="loop-settings" aria-label="Loop settings" onSubmit={save}>
      <label>
        Alias it serves and moves
        <select name="alias" value={fields.alias} onChange={set('alias')}>
          {aliases.map((a) => (
            <option value={a.name}>{a.name}</option>
          ))}
        </select>
      </label>
      {number('every_decisions', 'Run every N new decisions', { min: 1, step: 1, placeholder: 'never' })}
      {number('every_seconds', 'Run every S seconds', { min: 10, step: 1, placeholder: 'never' })}
      <label>
        Estimator
        <select name="estimator" value={fields.estimator} onChange={set('estimator')}>
          <option value="dr">dr (doubly robust)</option>
          <option value="ips">ips (inverse propensity)</option>
        </select>
      </label>
      {number('margin', 'Margin (reward; 0.01 is 1 point)', { min: -2, max: 2, step: 'any' })}
      {check('model_only', "a reward model's estimate alone may promote")}
      {check('prospective', 'prospective: test each candidate on the decisions logged after it went on trial')}
      {number('max_episodes', "Candidate's episodes", { min: 1, step: 1, placeholder: 'each log and task twice' })}
      {check('shadow', 'shadow: gateways also score with the latest candidate')}
      {number('canary', 'Canary share (0 to 0.5)', { min: 0, max: 0.5, step: 'any' })}
      <button type="submit" disabled={busy || !fields.alias}>
        {loop ? 'Save' : 'Set up the loop'}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}
