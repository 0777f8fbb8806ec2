// Runs: every session, live, and the form that starts one.
import { memo } from 'preact/compat';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { scenarios as scenariosApi, training } from '../api/endpoints';
import type { DashboardFrame, Status } from '../api/types';
import { StartForm } from '../components/StartForm';
import { ErrorBox, Progress, Section, StatusBadge, useInterval, useLoad } from '../components/ui';
import { fixed, percent, shortId, time } from '../lib/format';
import { live } from '../lib/live';
import { compareLink, runLink } from '../lib/router';

const PAGE_SIZE = 100; // rows drawn at once: the page stays quick with thousands of sessions
// The status feed carries status changes only, not a running session's numbers. Those are
// polled: GET /api/training/{id} every 2 s for the running sessions on the page shown, a few
// small requests (running sessions are bounded by the trainers' slots), instead of a socket
// per row or re-reading every session's status each time.
const POLL_MS = 2_000;
const BATCH_MS = 300;
const BATCH_LIMIT = 20;

type Sessions = Map<string, Status>;

const Row = memo(function Row({ s, checked, onCheck }: { s: Status; checked: boolean; onCheck: (id: string) => void }) {
  return (
    <tr data-session={s.session_id}>
      <td>
        <input
          type="checkbox"
          aria-label={`compare ${s.session_id}`}
          checked={checked}
          onChange={() => onCheck(s.session_id)}
        />
      </td>
      <td>
        <a href={runLink(s.session_id)} title={s.session_id}>
          {shortId(s.session_id)}
        </a>
      </td>
      <td>{s.scenario_id}</td>
      <td>{s.framework}</td>
      <td>
        <StatusBadge status={s.status} pending={s.pending} />
      </td>
      <td>
        <Progress session={s} />
      </td>
      <td class="num">{percent(s.accuracy)}</td>
      <td class="num">{s.heldout_episode === null ? '-' : percent(s.heldout_accuracy)}</td>
      <td class="num">{fixed(s.episodes_per_second, 0)}</td>
      <td>{time(s.start_time)}</td>
    </tr>
  );
});

function useSessions() {
  const [sessions, setSessions] = useState<Sessions>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [connected, setConnected] = useState(false);
  const upsert = useCallback((list: Status[]) => {
    setSessions((old) => {
      const next = new Map(old);
      for (const s of list) next.set(s.session_id, s);
      return next;
    });
  }, []);
  // A status event names one session; its numbers are read again, in batches: many events at
  // once (a trainer taking a queue of runs) become one read of the list instead.
  const stale = useRef(new Set<string>());
  const flush = useRef(0);
  const refetch = useCallback(
    (id: string) => {
      stale.current.add(id);
      if (flush.current) return;
      flush.current = window.setTimeout(() => {
        const ids = [...stale.current];
        stale.current.clear();
        flush.current = 0;
        const read = ids.length > BATCH_LIMIT ? training.list() : Promise.all(ids.map((i) => training.get(i)));
        read.then(upsert, setError);
      }, BATCH_MS);
    },
    [upsert],
  );
  const [listed, setListed] = useState(false);
  useEffect(() => {
    let fed = false;
    // Read at once over REST, whatever the feed does (it may not connect: the sessions are
    // there all the same); the feed's first frame lists every session again, then it goes on.
    training.list().then((list) => {
      if (fed) return;
      setSessions(new Map(list.map((s) => [s.session_id, s])));
      setListed(true);
    }, setError);
    const stop = live({
      path: () => '/ws/training',
      onState: setConnected,
      onMessage: (frame: DashboardFrame) => {
        if (frame.type === 'sessions') {
          fed = true;
          setError(null);
          setSessions(new Map(frame.data.map((s) => [s.session_id, s])));
          setListed(true);
        } else if (frame.type === 'status') {
          setSessions((old) => {
            const known = old.get(frame.session_id);
            if (!known) return old;
            return new Map(old).set(frame.session_id, { ...known, status: frame.status }); // at once
          });
          refetch(frame.session_id);
        }
      },
      onEnd: (reason) => setError(new Error(reason)),
    });
    return () => {
      clearTimeout(flush.current);
      stop();
    };
  }, []);
  return { sessions, listed, upsert, error, connected, setError };
}

export function RunsPage() {
  const { sessions, listed, upsert, error, connected, setError } = useSessions();
  const scenarios = useLoad(() => scenariosApi.list(), []);
  const [page, setPage] = useState(0);
  const [filter, setFilter] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const polling = useRef(false);

  const ordered = useMemo(() => {
    const wanted = filter.trim().toLowerCase();
    const all = [...sessions.values()].filter(
      (s) =>
        !wanted || s.status === wanted || s.scenario_id.toLowerCase().includes(wanted) || s.session_id.includes(wanted),
    );
    return all.sort((a, b) => (b.start_time ?? '').localeCompare(a.start_time ?? ''));
  }, [sessions, filter]);
  const pages = Math.max(1, Math.ceil(ordered.length / PAGE_SIZE));
  const shown = ordered.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const running = shown.filter((s) => s.status === 'running');

  useInterval(
    () => {
      if (polling.current) return;
      polling.current = true;
      // Without the feed, no status change arrives: the whole list is read instead.
      const read = connected ? Promise.all(running.map((s) => training.get(s.session_id))) : training.list();
      read.then(upsert, setError).finally(() => (polling.current = false));
    },
    POLL_MS,
    running.length > 0 || !connected,
  );

  const check = useCallback(
    (id: string) => setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id].slice(-4))),
    [],
  );

  return (
    <>
      <Section title="Start a run">
        <ErrorBox error={scenarios.error} />
        <StartForm scenarios={scenarios.value ?? []} />
      </Section>
      <Section
        title={`Runs (${sessions.size})`}
        actions={
          <span class="actions">
            <span
              class={connected ? 'live on' : 'live'}
              title={
                connected
                  ? 'status changes arrive as they happen'
                  : 'the live feed is not connected: numbers are polled'
              }
            >
              {connected ? 'live' : 'feed connecting'}
            </span>
            <input
              placeholder="filter: status, scenario or id"
              value={filter}
              onInput={(e) => (setFilter(e.currentTarget.value), setPage(0))}
            />
            <a
              class={`button ${chosen.length >= 2 ? '' : 'disabled'}`}
              href={chosen.length >= 2 ? compareLink(chosen) : undefined}
            >
              Compare {chosen.length || ''}
            </a>
          </span>
        }
      >
        <ErrorBox error={error} />
        <table class="runs">
          <thead>
            <tr>
              <th />
              <th>run</th>
              <th>scenario</th>
              <th>framework</th>
              <th>status</th>
              <th>progress</th>
              <th class="num">accuracy</th>
              <th class="num">held out</th>
              <th class="num">episodes/s</th>
              <th>started</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <Row key={s.session_id} s={s} checked={chosen.includes(s.session_id)} onCheck={check} />
            ))}
          </tbody>
        </table>
        {!ordered.length && <p class="muted">{listed ? 'No runs yet: start one above.' : 'Loading runs…'}</p>}
        {pages > 1 && (
          <p class="pager">
            <button disabled={page === 0} onClick={() => setPage(page - 1)}>
              Newer
            </button>
            page {page + 1} of {pages}
            <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
              Older
            </button>
          </p>
        )}
      </Section>
    </>
  );
}
