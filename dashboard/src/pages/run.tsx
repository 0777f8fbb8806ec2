// Run: one session live: its numbers, legal controls, charts, evaluation and episodes.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api/client';
import { training } from '../api/endpoints';
import type { Action, EpisodeFrame, Report as ReportData, SessionStatus, Snapshot, Status, Update } from '../api/types';
import { COLORS, Curves, Smoothing } from '../components/Curves';
import { Episodes } from '../components/Episodes';
import { Report } from '../components/Report';
import { ErrorBox, Figure, Progress, Section, StatusBadge } from '../components/ui';
import { count, fixed, interval, percent, shortId, time } from '../lib/format';
import { live } from '../lib/live';
import { go } from '../lib/router';
import { MAX_POINTS, RunHistory } from '../lib/series';

const ENDED: SessionStatus[] = ['completed', 'stopped', 'failed'];

/** The session's status and history: read once from /metrics, then extended live. */
function useRun(id: string) {
  const history = useRef(new RunHistory()).current;
  const [status, setStatus] = useState<Status | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [connected, setConnected] = useState(false);
  // The seq of the newest recorded episode the feed told of: the episode browser reads on
  // when it moves (the feed asks for episodes from the newest one recorded when it opened).
  const [recorded, setRecorded] = useState(0);

  useEffect(() => {
    let stop: (() => void) | null = null;
    let frame = 0;
    let gone = false;
    // Updates arrive up to ten a second: charts redraw at most once an animation frame.
    const redraw = () => {
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), setVersion((v) => v + 1)));
    };
    training.get(id).then((s) => !gone && setStatus(s), setError);
    let lastEpisode = 0;
    Promise.all([
      training.metrics(id, 0, MAX_POINTS),
      // Only `last` is wanted: after every seq there is, no episode comes back.
      training.episodes(id, { after: Number.MAX_SAFE_INTEGER, limit: 1 }).then((page) => page.last ?? 0),
    ]).then(([updates, last]) => {
      if (gone) return;
      history.add(updates);
      lastEpisode = last;
      redraw();
      stop = live({
        path: () =>
          `/ws/training/${encodeURIComponent(id)}?since=${history.lastSeq}&episodes=1&episodes_since=${lastEpisode}`,
        onState: setConnected,
        onMessage: (message: Update | Snapshot | EpisodeFrame) => {
          if (message.type === 'snapshot') setStatus(message.data);
          else if (message.type === 'training_update') {
            if (history.add([message])) redraw();
            setStatus(message.data);
          } else if (message.type === 'episode' && message.seq > lastEpisode) {
            lastEpisode = message.seq;
            setRecorded(message.seq);
          }
        },
        onEnd: (reason) => setError(new Error(reason)),
      });
    }, setError);
    return () => {
      gone = true;
      cancelAnimationFrame(frame);
      stop?.();
    };
  }, [id]);
  return { history, status, setStatus, version, error, connected, recorded };
}

type SetStatus = (next: (current: Status | null) => Status | null) => void;

function Controls({ status, onChange }: { status: Status; onChange: SetStatus }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const control = async (action: Action) => {
    setBusy(true);
    setError(null);
    try {
      await training.control(status.session_id, action);
      const read = await training.get(status.session_id);
      // A live update that came meanwhile (the pause carried out, say) is at least as new as
      // this read, which may have left the store before it: keep it, never go back.
      onChange((current) => (current === status ? read : current));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    try {
      await training.remove(status.session_id);
      go('#/runs');
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="controls">
      {status.actions.map((action) => (
        <button name={action} disabled={busy} onClick={() => control(action)}>
          {action[0].toUpperCase() + action.slice(1)}
        </button>
      ))}
      {status.deletable && (
        <button name="delete" class="danger" disabled={busy} onClick={remove}>
          Delete
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function Summary({ status }: { status: Status }) {
  return (
    <dl class="figures">
      <Figure label="episode" name="episode">
        {count(status.current_episode)} of {count(status.max_episodes)}
      </Figure>
      <Figure label="accuracy" name="accuracy">
        {percent(status.accuracy)}
        {status.accuracy_n > 0 && <small title="95% interval"> {interval(status.accuracy_ci95)}</small>}
      </Figure>
      <Figure label="held out" name="heldout">
        {status.heldout_episode === null ? '-' : percent(status.heldout_accuracy)}
        {status.heldout_episode != null && (
          <small>
            {' '}
            at {count(status.heldout_episode)}, {interval(status.heldout_ci95)} over {count(status.heldout_n)} tasks
          </small>
        )}
      </Figure>
      {status.kfold && (
        <Figure label="k-fold" name="kfold">
          {status.kfold.n ? (
            <>
              {percent(status.kfold.accuracy)}
              <small title="95% interval">
                {' '}
                {interval(status.kfold.ci95)} over {count(status.kfold.n)} tasks, {status.kfold.k} folds
              </small>
            </>
          ) : (
            <small>nothing to measure: each intent has one task</small>
          )}
        </Figure>
      )}
      {status.logs && (
        <Figure label="from logs" name="logs">
          {status.logs.how}
          <small>
            {' '}
            {count(status.logs.weighted)} with probabilities, {count(status.logs.imitated)} without
            {status.logs.unused > 0 && `, ${count(status.logs.unused)} unused`}
          </small>
        </Figure>
      )}
      <Figure label="average reward">{fixed(status.avg_reward, 3)}</Figure>
      <Figure label="loss">{fixed(status.loss, 4)}</Figure>
      <Figure label="episodes/s">{fixed(status.episodes_per_second, 0)}</Figure>
      <Figure label="started">{time(status.start_time)}</Figure>
      <Figure label="elapsed">{status.elapsed_time}</Figure>
      <Figure label="finishes">{status.estimated_finish ? time(status.estimated_finish) : '-'}</Figure>
      <Figure label="learning rate, seed">
        {status.learning_rate}, {status.seed}
      </Figure>
      <Figure label="model">{status.model_id ? <a href="#/models">{status.model_id}</a> : '-'}</Figure>
    </dl>
  );
}

/**
 * The latest held-out evaluation, read again whenever the session measures a new one. The
 * trainer stores the report just after the update that announces it, so it is read a moment
 * later (and again if it is not there yet): before the first, the route is a 404. At most one
 * read a moment: a fast run measures several times a second, and a read put off at each new
 * measurement would never come; one that was measured again meanwhile reads once more after.
 */
const EVALUATION_DELAY_MS = 1_000;

function useEvaluation(status: Status | null) {
  const [report, setReport] = useState<ReportData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const measured = status?.heldout_episode;
  const ended = status ? ENDED.includes(status.status) : false;
  const session = status?.session_id;
  const wanted = useRef(''); // the measurement the report shown should be of
  const timer = useRef(0); // the read to come, or under way (0: none)
  const key = `${session}/${measured}/${ended}`;
  useEffect(() => {
    if (!session || measured === null || (measured === undefined && !ended)) return;
    wanted.current = key;
    if (timer.current) return; // the read to come reads what is wanted then
    const schedule = (delay: number, tries: number) => {
      timer.current = window.setTimeout(() => {
        const asked = wanted.current;
        training.evaluation(session).then(
          (found) => {
            if (!wanted.current.startsWith(`${session}/`)) return; // another run's page now
            timer.current = 0;
            if (found) setReport(found);
            if (wanted.current !== asked) schedule(EVALUATION_DELAY_MS, 0);
            else if (!found && tries < 2) schedule(2 * EVALUATION_DELAY_MS, tries + 1);
          },
          (e) => {
            timer.current = 0;
            setError(new Error(`evaluation: ${messageOf(e)}`));
          },
        );
      }, delay);
    };
    schedule(EVALUATION_DELAY_MS, 0);
  }, [key]);
  useEffect(
    () => () => {
      clearTimeout(timer.current);
      timer.current = 0;
    },
    [session],
  );
  return { report, error };
}

export function RunPage({ id }: { id: string }) {
  const { history, status, setStatus, version, error, connected, recorded } = useRun(id);
  const [smoothing, setSmoothing] = useState(0.6);
  const evaluation = useEvaluation(status);
  const curves = useMemo(() => [{ label: 'training', color: COLORS[0], history }], [history]);
  const intents = Object.keys(evaluation.report?.per_intent ?? {}).sort();

  return (
    <>
      <Section
        title={`Run ${shortId(id)}`}
        actions={
          status && ENDED.includes(status.status) ? (
            <span class="live">finished</span>
          ) : (
            <span class={connected ? 'live on' : 'live'}>{connected ? 'live' : 'connecting'}</span>
          )
        }
      >
        <ErrorBox error={error} />
        {status && (
          <>
            <p class="run-head">
              <StatusBadge status={status.status} pending={status.pending} /> {status.scenario_id} · {status.framework}{' '}
              · <code>{id}</code>
            </p>
            <Progress session={status} />
            {status.activity && <p class="muted activity">{status.activity}</p>}
            {status.error && <p class="error">{status.error}</p>}
            <Controls status={status} onChange={setStatus} />
            <Summary status={status} />
          </>
        )}
      </Section>
      <Section title="Curves" actions={<Smoothing value={smoothing} onChange={setSmoothing} />}>
        <Curves curves={curves} smoothing={smoothing} version={version} />
      </Section>
      <Section title="Latest held-out evaluation">
        <ErrorBox error={evaluation.error} />
        {evaluation.report ? <Report report={evaluation.report} /> : <p class="muted">Not evaluated yet.</p>}
      </Section>
      <Section title="Episodes">
        <Episodes sessionId={id} intents={intents} recorded={recorded} />
      </Section>
    </>
  );
}
