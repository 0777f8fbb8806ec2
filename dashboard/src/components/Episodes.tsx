// The episode browser: recorded episodes filtered by split, solved and intent, paged with the
// API's cursor, and one episode call by call with the expected tool beside the chosen one.
import { useEffect, useRef, useState } from 'preact/hooks';
import { training } from '../api/endpoints';
import type { Episode } from '../api/types';
import { count, fixed } from '../lib/format';
import { ErrorBox } from './ui';

const LIMIT = 20;
// The last page is read again when the live feed tells of new episodes, at most this often
// (a held-out evaluation records one per task, all at once).
const REFRESH_MS = 1_000;

interface Filters {
  split: string;
  solved: string;
  intent: string;
}

export function EpisodeView({ episode, onClose }: { episode: Episode; onClose?: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.scrollIntoView({ block: 'nearest' }), [episode.seq]);
  return (
    <div class="episode" data-episode={episode.seq} ref={box}>
      <header>
        <h3>
          Episode {count(episode.episode)}{' '}
          <span class="muted">
            (#{episode.seq}, {episode.split})
          </span>
        </h3>
        <span class={episode.solved ? 'badge ok' : 'badge bad'}>{episode.solved ? 'solved' : 'not solved'}</span>
        {onClose && (
          <button class="link" onClick={onClose}>
            close
          </button>
        )}
      </header>
      <blockquote>{episode.text}</blockquote>
      <p class="muted">
        task {episode.task_id} · intent {episode.intent} · reward {fixed(episode.reward, 3)}
        {episode.solution && ` · solution: ${episode.solution.join(' → ') || 'finish at once'}`}
      </p>
      <p class="muted tools">tools offered: {episode.tools.join(', ')}</p>
      <table class="calls">
        <thead>
          <tr>
            <th class="num">step</th>
            <th>chosen</th>
            <th>expected</th>
            <th>outcome</th>
            <th class="num">probability</th>
            <th class="num">reward</th>
          </tr>
        </thead>
        <tbody>
          {episode.calls.map((call, i) => {
            const classes = [call.right ? 'right' : 'mistake', call.succeeded ? '' : 'failed'].join(' ');
            return (
              <tr class={classes}>
                <td class="num">{i + 1}</td>
                <td>{call.tool}</td>
                <td>{call.expected}</td>
                <td>
                  {call.right ? '✓ right' : '✗ mistake'}
                  {!call.succeeded && ' · failed (transient)'}
                </td>
                <td class="num">{(call.probability * 100).toFixed(1)}%</td>
                <td class="num">{fixed(call.reward, 3)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function Episodes({ sessionId, intents, recorded }: { sessionId: string; intents: string[]; recorded: number }) {
  const [filters, setFilters] = useState<Filters>({ split: '', solved: '', intent: '' });
  const [cursors, setCursors] = useState<number[]>([0]); // `after` of each page so far
  const [page, setPage] = useState<{ episodes: Episode[]; next: number | null } | null>(null);
  const [open, setOpen] = useState<Episode | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const [seen, setSeen] = useState<string[]>([]); // intents on pages read so far, beside `intents`
  const after = cursors[cursors.length - 1];
  const atEnd = !page || page.next === null || page.episodes.length < LIMIT;
  const read = useRef(0); // the `recorded` the last page was read after
  useEffect(() => {
    if (!atEnd || recorded <= read.current) return;
    const timer = window.setTimeout(() => {
      read.current = recorded;
      setTick((t) => t + 1);
    }, REFRESH_MS);
    return () => window.clearTimeout(timer);
  }, [recorded, atEnd]);

  useEffect(() => {
    let current = true;
    training.episodes(sessionId, { ...filters, after, limit: LIMIT }).then(
      (p) => {
        if (!current) return;
        setPage(p);
        setError(null);
        setSeen((known) => [...new Set([...known, ...p.episodes.map((e) => e.intent)])]);
      },
      (e) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [sessionId, filters, after, tick]);

  const set = (name: keyof Filters) => (event: Event) => {
    setFilters({ ...filters, [name]: (event.currentTarget as HTMLSelectElement).value });
    setCursors([0]);
  };
  return (
    <div class="episodes">
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="episode filters">
        <label>
          Split
          <select name="split" value={filters.split} onChange={set('split')}>
            <option value="">all</option>
            <option value="train">train</option>
            <option value="heldout">held out</option>
          </select>
        </label>
        <label>
          Solved
          <select name="solved" value={filters.solved} onChange={set('solved')}>
            <option value="">all</option>
            <option value="true">solved</option>
            <option value="false">not solved</option>
          </select>
        </label>
        <label>
          Intent
          <select name="intent" value={filters.intent} onChange={set('intent')}>
            <option value="">all</option>
            {[...new Set([...intents, ...seen])].sort().map((i) => (
              <option value={i}>{i}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} />
      {page && !page.episodes.length && (
        <p class="muted">No recorded episodes {cursors.length > 1 ? 'after these' : 'yet'}.</p>
      )}
      {page && page.episodes.length > 0 && (
        <table class="episode-list">
          <thead>
            <tr>
              <th class="num">#</th>
              <th class="num">episode</th>
              <th>split</th>
              <th>intent</th>
              <th>solved</th>
              <th class="num">calls</th>
              <th class="num">reward</th>
              <th>request</th>
            </tr>
          </thead>
          <tbody>
            {page.episodes.map((ep) => (
              <tr class={open?.seq === ep.seq ? 'selected' : ''} onClick={() => setOpen(ep)} data-seq={ep.seq}>
                <td class="num">
                  <button class="link" onClick={() => setOpen(ep)}>
                    {ep.seq}
                  </button>
                </td>
                <td class="num">{count(ep.episode)}</td>
                <td>{ep.split}</td>
                <td>{ep.intent}</td>
                <td>{ep.solved ? '✓' : '✗'}</td>
                <td class="num">{ep.calls.length}</td>
                <td class="num">{fixed(ep.reward, 2)}</td>
                <td class="text">{ep.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="pager">
        <button disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>
          Next
        </button>
      </p>
      {open && <EpisodeView episode={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
