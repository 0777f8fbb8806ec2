// A scenario's improvement loop (#/loop/<scenario>): the alias it serves and its history, the
// loop's settings, each run and its verdict, reward over time by model; run it now, stop it,
// roll the alias back.
import { useEffect, useRef, useState } from 'preact/hooks';
import { aliases as aliasApi, loops, models } from '../api/endpoints';
import type { Alias, LoopRun } from '../api/types';
import { AliasHistory, Rollback } from '../components/Aliases';
import { LoopSettings } from '../components/LoopSettings';
import { RewardByModel } from '../components/RewardByModel';
import { ShadowAgreement } from '../components/ShadowAgreement';
import { ErrorBox, Figure, Section, useInterval, useLoad } from '../components/ui';
import { count, shortId, time } from '../lib/format';
import { runLink } from '../lib/router';

const POLL_MS = 2000; // while a run is under way: its steps take seconds to minutes

/** Reward units as points (100 x), signed: "+4.1". */
const points = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;

const OUTCOME_CLASS: Record<string, string> = { promoted: 'ok', failed: 'bad', trial: 'pending' };

function Difference({ run }: { run: LoopRun }) {
  const v = run.verdict;
  if (!v) return <span class="muted">-</span>;
  const ess = v.ess === null || v.ess === undefined ? '' : `, n_eff ${count(Math.round(v.ess))}`;
  // Where the candidate chose otherwise, how often its choice was served: the rest of its side
  // of the estimate is the reward model's alone (trainer/gate.py).
  const served =
    v.disagreed === null || v.disagreed === undefined
      ? ''
      : `, its choice served ${count(v.candidate_served ?? 0)} of ${count(v.disagreed)}`;
  return (
    <span
      data-difference={v.difference}
      title={`candidate minus serving, in points (100 x reward); one-sided bounds at alpha ${v.alpha}, test ${v.test} of the loop`}
    >
      {points(v.difference)} [{points(v.lower)}, {points(v.upper)}]
      <span class="muted">
        {' '}
        n {count(v.n)}
        {ess}
        {served}
      </span>
    </span>
  );
}

function Runs({ runs, nameOf }: { runs: LoopRun[]; nameOf: (id: string) => string }) {
  if (!runs.length) return <p class="muted">No runs yet: run it now, or wait for its schedule.</p>;
  return (
    <table class="loop-runs">
      <thead>
        <tr>
          <th>when</th>
          <th>trigger</th>
          <th>verdict</th>
          <th class="num">snapshot (logs / new decisions)</th>
          <th>candidate</th>
          <th>difference, points [interval]</th>
          <th>why</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr data-run={run.run_id} data-outcome={run.outcome ?? run.step}>
            <td>{time(run.started_at)}</td>
            <td>{run.trigger}</td>
            <td>
              <span class={`badge ${OUTCOME_CLASS[run.outcome ?? ''] ?? ''}`}>{run.outcome ?? `${run.step}…`}</span>
            </td>
            <td class="num">
              {count(run.logs_added)} / {count(run.new_decisions)}
            </td>
            <td>
              {run.session_id ? (
                <a href={runLink(run.session_id)} title="the candidate's training session">
                  {shortId(run.session_id)}
                </a>
              ) : (
                '-'
              )}
              {run.candidate_model_id && <span class="muted"> · {nameOf(run.candidate_model_id)}</span>}
            </td>
            <td>
              <Difference run={run} />
            </td>
            <td class="why">{run.why ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Stop({ onStop }: { onStop: () => Promise<void> }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming)
    return (
      <button name="stop" class="danger" onClick={() => setConfirming(true)}>
        Stop loop
      </button>
    );
  return (
    <>
      <button name="confirm-stop" class="danger" onClick={() => void onStop().then(() => setConfirming(false))}>
        Stop it: no more runs
      </button>
      <button name="cancel-stop" onClick={() => setConfirming(false)}>
        Keep it
      </button>
    </>
  );
}

export function LoopPage({ scenario }: { scenario: string }) {
  const [changed, setChanged] = useState(0); // the alias, models and rewards to read again
  const view = useLoad(() => loops.get(scenario), [scenario]);
  const aliasList = useLoad(() => aliasApi.list(), [changed]);
  const modelList = useLoad(() => models.list(), [changed]);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const loop = view.value ?? null;
  const alias: Alias | undefined = aliasList.value?.find((a) => a.name === loop?.alias);
  const nameOf = (id: string) => modelList.value?.find((m) => m.id === id)?.name ?? id;

  useInterval(() => view.reload(), POLL_MS, !!loop?.running);
  // A run that ended may have moved the alias and made a model: read them again.
  const wasRunning = useRef<string | null>(null);
  useEffect(() => {
    if (wasRunning.current && !loop?.running) setChanged((c) => c + 1);
    wasRunning.current = loop?.running ?? null;
  }, [loop?.running]);

  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    setNote('');
    try {
      await work();
    } catch (e) {
      setError(e);
    }
  };
  const runNow = () =>
    act(async () => {
      const run = await loops.run(scenario);
      setNote(`Run ${run.run_id}: ${run.step}.`);
      view.reload();
    });
  const stop = () =>
    act(async () => {
      await loops.stop(scenario);
      setNote('Stopped: no more runs. Its runs are kept; set it up again to see them.');
      view.reload();
    });
  const rollback = (a: Alias) =>
    act(async () => {
      await aliasApi.rollback(a.name, `rolled back from the Loop page of ${scenario}`);
      setChanged((c) => c + 1);
    });
  // The form is made anew when the settings change (saved here or elsewhere), not when a run
  // moves the loop's counters: what is being typed stays.
  const settingsKey = loop
    ? JSON.stringify([
        loop.alias,
        loop.every_decisions,
        loop.every_seconds,
        loop.gate,
        loop.max_episodes,
        loop.shadow,
        loop.canary,
      ])
    : 'none';

  return (
    <>
      <Section
        title={`Loop of ${scenario}`}
        actions={
          loop && (
            <div class="actions">
              <button name="run" onClick={runNow} disabled={!!loop.running}>
                Run now
              </button>
              <Stop onStop={stop} />
            </div>
          )
        }
      >
        <ErrorBox error={view.error || aliasList.error || error} />
        {note && <p class="note">{note}</p>}
        {loop && (
          <dl class="figures">
            <Figure label="gate tests so far" name="tests">
              {loop.tests}
            </Figure>
            <Figure label="decisions taken in" name="decisions-taken">
              {count(loop.decisions_taken)}
            </Figure>
            <Figure label="last run" name="last-run">
              {loop.last_run_at ? new Date(loop.last_run_at * 1000).toLocaleString() : '-'}
            </Figure>
            <Figure label="under way" name="running">
              {loop.running ?? '-'}
            </Figure>
          </dl>
        )}
        {view.value === null && <p class="muted">No loop yet: choose its alias and settings, and set it up.</p>}
        {aliasList.value && !aliasList.value.length && (
          <p class="muted">
            A loop moves an alias: name a model on the <a href="#/models">Models page</a> first.
          </p>
        )}
        {view.value !== undefined && aliasList.value && (
          <LoopSettings
            key={settingsKey}
            scenario={scenario}
            loop={loop}
            aliases={aliasList.value}
            onSaved={() => {
              setNote('Saved.');
              view.reload();
            }}
          />
        )}
      </Section>
      {alias && (
        <Section
          title={`Alias ${alias.name}`}
          actions={
            <div class="row-actions" data-alias={alias.name}>
              <Rollback alias={alias} nameOf={nameOf} rollback={() => rollback(alias)} />
            </div>
          }
        >
          <p>
            names{' '}
            <strong data-model={alias.model_id} title={alias.model_id}>
              {nameOf(alias.model_id)}
            </strong>{' '}
            since {time(alias.updated_at)} ({alias.version} moves)
          </p>
          {loop?.trial && (
            <p data-trial={loop.trial.model_id}>
              on trial: <strong title={loop.trial.model_id}>{nameOf(loop.trial.model_id)}</strong> since{' '}
              {time(new Date(loop.trial.since * 1000).toISOString())}; the next run tests it on the decisions logged
              since
            </p>
          )}
          <AliasHistory alias={alias} nameOf={nameOf} />
        </Section>
      )}
      {loop && (
        <Section title={`Runs (${loop.runs.length})`}>
          <Runs runs={loop.runs} nameOf={nameOf} />
        </Section>
      )}
      <Section title="Reward over time by model">
        <RewardByModel scenario={scenario} nameOf={nameOf} changed={changed} />
      </Section>
      {(loop?.shadow || loop?.gate?.prospective) && (
        <Section title="Shadow: where it would have chosen otherwise">
          <ShadowAgreement scenario={scenario} nameOf={nameOf} changed={changed} />
        </Section>
      )}
    </>
  );
}
