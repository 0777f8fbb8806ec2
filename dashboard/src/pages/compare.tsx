// Compare: two to four runs' curves overlaid, picked from the list of runs.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { training } from '../api/endpoints';
import type { Status } from '../api/types';
import { COLORS, Curves, Smoothing, type Curve } from '../components/Curves';
import { ErrorBox, Section, StatusBadge, useInterval, useLoad } from '../components/ui';
import { percent, shortId, time } from '../lib/format';
import { compareLink, go, runLink } from '../lib/router';
import { MAX_POINTS, RunHistory } from '../lib/series';

const MAX_RUNS = 4;
const REFRESH_MS = 2_000; // running ones' new updates are read this often

export function ComparePage({ ids }: { ids: string[] }) {
  const sessions = useLoad(() => training.list(), []);
  const chosen = ids.slice(0, MAX_RUNS);
  const [histories, setHistories] = useState(new Map<string, RunHistory>());
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [smoothing, setSmoothing] = useState(0.6);
  const [fresh, setFresh] = useState(new Map<string, Status>()); // chosen runs' statuses, re-read
  const byId = useMemo(
    () => new Map([...(sessions.value ?? []).map((s) => [s.session_id, s] as const), ...fresh]),
    [sessions.value, fresh],
  );

  useEffect(() => {
    let gone = false;
    Promise.all(chosen.map(async (id) => [id, histories.get(id) ?? (await load(id))] as const)).then(
      (loaded) => !gone && setHistories(new Map(loaded)),
      setError,
    );
    return () => {
      gone = true;
    };
  }, [chosen.join(',')]);

  const running = chosen.filter((id) => byId.get(id)?.status === 'running' || byId.get(id)?.status === 'queued');
  useInterval(
    () => {
      Promise.all(
        running.map(async (id) => {
          const history = histories.get(id);
          if (history) history.add(await training.metrics(id, history.lastSeq));
          return training.get(id);
        }),
      ).then((statuses) => {
        setVersion((v) => v + 1);
        setFresh((old) => new Map([...old, ...statuses.map((s) => [s.session_id, s] as const)]));
      }, setError);
    },
    REFRESH_MS,
    running.length > 0,
  );

  const curves: Curve[] = useMemo(
    () =>
      chosen
        .filter((id) => histories.has(id))
        .map((id) => {
          const s = byId.get(id);
          const color = COLORS[chosen.indexOf(id)];
          return { label: `${s?.scenario_id ?? ''} ${shortId(id)}`.trim(), color, history: histories.get(id)! };
        }),
    [histories, byId, chosen.join(',')],
  );

  const toggle = (id: string) => {
    const next = chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id].slice(-MAX_RUNS);
    go(compareLink(next));
  };

  return (
    <>
      <Section title="Compare runs" actions={<Smoothing value={smoothing} onChange={setSmoothing} />}>
        <ErrorBox error={error} />
        {chosen.length < 2 ? (
          <p class="muted">Pick two to four runs below.</p>
        ) : (
          <Curves curves={curves} smoothing={smoothing} version={version} />
        )}
      </Section>
      <Section title="Runs">
        <ErrorBox error={sessions.error} />
        <RunPicker sessions={[...byId.values()]} chosen={chosen} onToggle={toggle} />
      </Section>
    </>
  );
}

async function load(id: string): Promise<RunHistory> {
  const history = new RunHistory();
  history.add(await training.metrics(id, 0, MAX_POINTS));
  return history;
}

function RunPicker({
  sessions,
  chosen,
  onToggle,
}: {
  sessions: Status[];
  chosen: string[];
  onToggle: (id: string) => void;
}) {
  const newest = [...sessions].reverse().slice(0, 200); // the list is oldest first
  return (
    <table class="picker">
      <thead>
        <tr>
          <th />
          <th>run</th>
          <th>scenario</th>
          <th>status</th>
          <th class="num">accuracy</th>
          <th class="num">held out</th>
          <th>started</th>
        </tr>
      </thead>
      <tbody>
        {newest.map((s) => {
          const i = chosen.indexOf(s.session_id);
          return (
            <tr data-session={s.session_id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`compare ${s.session_id}`}
                  checked={i >= 0}
                  disabled={i < 0 && chosen.length >= MAX_RUNS}
                  onChange={() => onToggle(s.session_id)}
                />
                {i >= 0 && <span class="swatch" style={{ background: COLORS[i] }} />}
              </td>
              <td>
                <a href={runLink(s.session_id)}>{shortId(s.session_id)}</a>
              </td>
              <td>{s.scenario_id}</td>
              <td>
                <StatusBadge status={s.status} />
              </td>
              <td class="num">{percent(s.accuracy)}</td>
              <td class="num">{percent(s.heldout_accuracy)}</td>
              <td>{time(s.start_time)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
