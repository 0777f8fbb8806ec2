// Decisions: what served models chose for a scenario (the gateway's searches, act's answers),
// what agents called after, and one decision opened with its list and its calls.
import { useMemo, useState } from 'preact/hooks';
import { decisions as api, scenarios } from '../api/endpoints';
import type { Decision, DecisionCall, DecisionItem } from '../api/types';
import { ErrorBox, Figure, Section, useLoad } from '../components/ui';
import { count, fixed, percent } from '../lib/format';
import { go } from '../lib/router';

const SHOWN = 50; // the latest decisions listed
const share = (part: number, whole: number) => (whole ? (100 * part) / whole : null);
const when = (seconds: number) => new Date(seconds * 1000).toLocaleString();

export interface Summary {
  decisions: Decision[];
  calls: DecisionCall[];
  unsure: number;
  outOfScope: number;
  joined: number; // calls joined to a decision (by its id, or their MCP session)
  missed: number; // ... of a tool that decision did not serve
  searchedAgain: number; // decisions the agent searched again after, instead of calling
  errors: number;
  first: [string, number][]; // tools put first, most often first
  perHour: [string, number][];
}

/** What the page shows of a scenario's decisions and calls. */
export function summarize(items: DecisionItem[]): Summary {
  const decisions = items.filter((i): i is Decision => i.kind === 'decision');
  const calls = items.filter((i): i is DecisionCall => i.kind === 'call');
  const joined = calls.filter((c) => c.joined_to);
  const first = new Map<string, number>();
  const perHour = new Map<string, number>();
  for (const d of decisions) {
    if (d.served[0]) first.set(d.served[0], (first.get(d.served[0]) ?? 0) + 1);
    const hour = new Date(d.time * 1000).toISOString().slice(0, 13) + ':00';
    perHour.set(hour, (perHour.get(hour) ?? 0) + 1);
  }
  return {
    decisions,
    calls,
    unsure: decisions.filter((d) => d.unsure).length,
    outOfScope: decisions.filter((d) => d.in_scope === false).length,
    joined: joined.length,
    missed: joined.filter((c) => c.rank === null).length,
    searchedAgain: decisions.filter((d) => d.searched_again).length,
    errors: calls.filter((c) => c.is_error).length,
    first: [...first.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10),
    perHour: [...perHour.entries()].sort(),
  };
}

/** A table of things and how many times each came. */
function Counts({ name, rows }: { name: string; rows: [string, number][] }) {
  return (
    <table class={name}>
      <tbody>
        {rows.map(([what, times]) => (
          <tr>
            <td>{what}</td>
            <td class="num">{count(times)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Opened({ id }: { id: string }) {
  const found = useLoad(() => api.get(id), [id]);
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.value) return <p class="muted">Loading…</p>;
  const { decision, calls, feedback, searched_again } = found.value;
  return (
    <div class="decision" data-decision={decision.id}>
      <p>
        <q>{decision.text}</q>{' '}
        <small class="muted">
          {when(decision.time)}, model {decision.model_id}
        </small>
      </p>
      <ol class="served">
        {decision.served.map((tool) => (
          <li>
            {tool} <small>{percent(100 * (decision.probabilities[tool] ?? 0))}</small>
          </li>
        ))}
      </ol>
      <p class="muted">
        first put first with probability {fixed(decision.first_probability, 2)}
        {decision.explored ? ' (explored)' : ''}
        {decision.unsure ? '; unsure' : ''}
        {decision.in_scope === false ? '; out of scope' : ''}
      </p>
      <h4>Calls</h4>
      {calls.length ? (
        <ul class="calls">
          {calls.map((c) => (
            <li>
              {c.tool} {c.is_error ? 'answered an error' : 'answered'} in {fixed(c.latency_ms, 1)} ms
              {c.rank === null ? ' (not served)' : ` (served #${(c.rank ?? 0) + 1})`}
              {c.joined === 'session' ? ', joined by its session' : ''}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No call followed this decision.</p>
      )}
      {searched_again && <p class="searched-again">The agent searched again instead of calling.</p>}
      <p class="feedback">
        {feedback
          ? `Feedback: ${fixed(feedback.reward, 2)}${feedback.comment ? ` (“${feedback.comment}”)` : ''}`
          : 'No feedback (not a zero: none was given).'}
      </p>
    </div>
  );
}

export function DecisionsPage({ scenario, opened }: { scenario?: string; opened?: string }) {
  const list = useLoad(() => scenarios.list(), []);
  const items = useLoad(() => (scenario ? api.list(scenario) : Promise.resolve([])), [scenario]);
  const summary = useMemo(() => summarize(items.value ?? []), [items.value]);
  const [filter, setFilter] = useState('');
  const pick = (id: string) => go(`#/decisions?scenario=${encodeURIComponent(id)}`);
  const open = (id: string) =>
    go(`#/decisions?scenario=${encodeURIComponent(scenario ?? '')}&decision=${encodeURIComponent(id)}`);
  const latest = summary.decisions
    .filter((d) => !filter || d.text.toLowerCase().includes(filter.toLowerCase()))
    .slice(-SHOWN)
    .reverse();
  const n = summary.decisions.length;
  return (
    <>
      <Section
        title="Decisions"
        actions={
          <label>
            Scenario{' '}
            <select name="scenario" value={scenario ?? ''} onChange={(e) => pick(e.currentTarget.value)}>
              <option value="">choose one</option>
              {(list.value ?? []).map((s) => (
                <option value={s.id}>{s.id}</option>
              ))}
            </select>
          </label>
        }
      >
        <ErrorBox error={list.error ?? items.error} />
        {!scenario && <p class="muted">Choose a scenario to see what its served models chose.</p>}
        {scenario && items.value && (
          <dl class="figures">
            <Figure label="decisions" name="decisions">
              {count(n)}
            </Figure>
            <Figure label="answered with a set (unsure)" name="unsure">
              {percent(share(summary.unsure, n))}
            </Figure>
            <Figure label="out of scope" name="out-of-scope">
              {percent(share(summary.outOfScope, n))}
            </Figure>
            <Figure label="calls after them" name="calls">
              {count(summary.joined)} of {count(summary.calls.length)}
            </Figure>
            <Figure label="miss rate (called, not served)" name="miss-rate">
              {percent(share(summary.missed, summary.joined))}
            </Figure>
            <Figure label="searched again instead" name="searched-again">
              {percent(share(summary.searchedAgain, n))}
            </Figure>
            <Figure label="calls answering an error" name="errors">
              {percent(share(summary.errors, summary.calls.length))}
            </Figure>
          </dl>
        )}
      </Section>
      {scenario && n > 0 && (
        <div class="two-columns">
          <Section title="Tools put first">
            <Counts name="first-tools" rows={summary.first} />
          </Section>
          <Section title="Decisions per hour (UTC)">
            <Counts name="per-hour" rows={summary.perHour} />
          </Section>
        </div>
      )}
      {scenario && n > 0 && (
        <Section
          title={`The latest ${Math.min(SHOWN, latest.length)}`}
          actions={
            <input
              name="filter"
              placeholder="Requests with…"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
          }
        >
          <table class="decisions">
            <tbody>
              {latest.map((d) => (
                <tr data-decision-row={d.id}>
                  <td>
                    <button class="link" onClick={() => open(d.id)}>
                      {d.text || '(no text kept)'}
                    </button>
                  </td>
                  <td>{d.served[0] ?? '-'}</td>
                  <td>{d.unsure ? 'unsure' : ''}</td>
                  <td class="muted">{when(d.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {opened && (
        <Section title="A decision">
          <Opened key={opened} id={opened} />
        </Section>
      )}
    </>
  );
}
