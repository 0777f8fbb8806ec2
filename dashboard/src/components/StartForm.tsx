// Start a run: a scenario (with its hyperparameter ranges and defaults), framework and numbers.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { training } from '../api/endpoints';
import type { Framework, Scenario } from '../api/types';
import { count, uniqueId } from '../lib/format';
import { go, runLink } from '../lib/router';
import { ErrorBox } from './ui';

const FRAMEWORKS: Framework[] = ['LangChain', 'AutoGen', 'CrewAI'];

interface Range {
  min?: number | null;
  max?: number | null;
  default?: number | null;
}

function rangeText(range: Range | undefined, format: (v: number) => string): string {
  if (!range) return '';
  const parts = [];
  if (range.min != null && range.max != null) parts.push(`${format(range.min)} to ${format(range.max)}`);
  if (range.default != null) parts.push(`default ${format(range.default)}`);
  return parts.join(', ');
}

export function StartForm({ scenarios }: { scenarios: Scenario[] }) {
  const [scenarioId, setScenarioId] = useState('');
  const [framework, setFramework] = useState<Framework>('LangChain');
  const [episodes, setEpisodes] = useState('');
  const [rate, setRate] = useState('');
  const [seed, setSeed] = useState('');
  const [kfold, setKfold] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const scenario = useMemo(() => scenarios.find((s) => s.id === scenarioId), [scenarios, scenarioId]);
  const ranges = scenario?.hyperparameters as Record<string, Range> | undefined;

  useEffect(() => {
    if (!scenarioId && scenarios.length) setScenarioId(scenarios[0].id);
  }, [scenarios]);
  useEffect(() => {
    // Each scenario's own defaults, and the frameworks it lists.
    setEpisodes(String(ranges?.max_episodes?.default ?? ''));
    setRate(String(ranges?.learning_rate?.default ?? ''));
    if (scenario && !scenario.frameworks.includes(framework)) setFramework(scenario.frameworks[0] ?? 'LangChain');
  }, [scenario]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const started = await training.start(
        {
          scenario_id: scenarioId,
          framework,
          max_episodes: episodes ? Number(episodes) : null,
          learning_rate: rate ? Number(rate) : null,
          seed: seed ? Number(seed) : null,
          evaluation: kfold ? 'kfold' : null,
        },
        uniqueId(),
      );
      go(runLink(started.session_id));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="start" onSubmit={submit} aria-label="Start a run">
      <label>
        Scenario
        <select name="scenario" value={scenarioId} onChange={(e) => setScenarioId(e.currentTarget.value)}>
          {scenarios.map((s) => (
            <option value={s.id}>
              {s.name} ({s.source})
            </option>
          ))}
        </select>
      </label>
      <label>
        Framework
        <select name="framework" value={framework} onChange={(e) => setFramework(e.currentTarget.value as Framework)}>
          {(scenario?.frameworks.length ? scenario.frameworks : FRAMEWORKS).map((f) => (
            <option value={f}>{f}</option>
          ))}
        </select>
      </label>
      <label>
        Episodes
        <input
          name="max_episodes"
          type="number"
          min={ranges?.max_episodes?.min ?? 1}
          max={ranges?.max_episodes?.max ?? undefined}
          value={episodes}
          onInput={(e) => setEpisodes(e.currentTarget.value)}
        />
        <small>{rangeText(ranges?.max_episodes, count)}</small>
      </label>
      <label>
        Learning rate
        <input
          name="learning_rate"
          type="number"
          step="any"
          min={ranges?.learning_rate?.min ?? undefined}
          max={ranges?.learning_rate?.max ?? undefined}
          value={rate}
          onInput={(e) => setRate(e.currentTarget.value)}
        />
        <small>{rangeText(ranges?.learning_rate, String)}</small>
      </label>
      <label>
        Seed
        <input
          name="seed"
          type="number"
          min={0}
          placeholder="random"
          value={seed}
          onInput={(e) => setSeed(e.currentTarget.value)}
        />
      </label>
      <label title="Once trained, five more runs each measured on a fifth of the tasks it never trained on: an estimate over every task, for a scenario of few">
        <input name="kfold" type="checkbox" checked={kfold} onChange={(e) => setKfold(e.currentTarget.checked)} />{' '}
        k-fold estimate
      </label>
      <button type="submit" disabled={busy || !scenarioId}>
        Start
      </button>
      {scenario && (
        <p class="muted scenario-note">
          {scenario.description}{' '}
          {scenario.counts
            ? `${scenario.counts.tasks} tasks, ${scenario.counts.heldout} held out, ${scenario.counts.tools} tools.`
            : ''}
        </p>
      )}
      <ErrorBox error={error} />
    </form>
  );
}
