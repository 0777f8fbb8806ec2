// Scenarios: built-in and custom, each with its tools and sample tasks; upload a scenario file,
// read its validation report, push it (README: "Bring your own scenario").
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { scenarios as api, scenarioType, type Upload } from '../api/endpoints';
import type { LoggedEpisode, Scenario, ValidationReport } from '../api/types';
import { ErrorBox, Section, useLoad } from '../components/ui';
import { loopLink } from '../lib/router';

const SAMPLE_TASKS = 12;
const SHOWN_LOGS = 20; // the newest logged episodes listed

function percentOf(p: number | undefined): string {
  return p === undefined ? '' : ` ${Math.round(p * 100)}%`;
}

/** A scenario's logged episodes: what the receiver read for it (what it skipped and why), the
 * newest episodes, and one opened call by call. */
function Logs({ scenario, logs }: { scenario: Scenario; logs: LoggedEpisode[] }) {
  const counts = useLoad(() => api.traces(scenario.id), [scenario.id, scenario.version]);
  const [open, setOpen] = useState<string | null>(null);
  const newest = [...logs].sort((a, b) => (b.time ?? '').localeCompare(a.time ?? '')).slice(0, SHOWN_LOGS);
  const c = counts.value;
  return (
    <section class="logs">
      <h3>
        Logged episodes ({logs.length}; {logs.filter((l) => l.reward !== undefined).length} with an outcome,{' '}
        {logs.filter((l) => !l.text).length} without text)
      </h3>
      {c && c.spans > 0 && (
        <p class="muted trace-counts">
          traces: {c.spans} spans read, {c.ignored} not GenAI (ignored), {c.episodes} episodes taken, {c.late} late
          {Object.entries(c.skipped).map(([why, n]) => `; ${n} skipped: ${why}`)}
        </p>
      )}
      <table class="logs">
        <tbody>
          {newest.map((log) => (
            <>
              <tr data-log={log.id}>
                <td>
                  <button type="button" class="link" onClick={() => setOpen(open === log.id ? null : log.id)}>
                    {log.text || <span class="muted">(no text)</span>}
                  </button>
                </td>
                <td class="muted">{log.time ?? ''}</td>
                <td>{log.calls.length} calls</td>
                <td>{log.reward === undefined ? <span class="muted">no outcome</span> : `reward ${log.reward}`}</td>
              </tr>
              {open === log.id && (
                <tr class="calls">
                  <td colSpan={4}>
                    <ol>
                      {log.calls.map((call) => (
                        <li class={call.succeeded === false ? 'error' : ''}>
                          <code>{call.tool}</code>
                          {call.succeeded === false ? ' failed' : ''}
                          {call.probability !== undefined ? ` · served with${percentOf(call.probability)}` : ''}
                          {call.reward !== undefined ? ` · reward ${call.reward}` : ''}
                        </li>
                      ))}
                    </ol>
                    {log.tools && <p class="muted">on offer: {log.tools.join(', ')}</p>}
                  </td>
                </tr>
              )}
            </>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Detail({ scenario }: { scenario: Scenario }) {
  const file = useLoad(() => api.file(scenario.id), [scenario.id, scenario.version]);
  const tools = file.value?.tools ?? [];
  const tasks = file.value?.tasks ?? [];
  // Both kinds in the sample: the held-out tasks are scored, never trained on.
  const heldout = tasks.filter((t) => t.split === 'heldout');
  const sample = [...tasks.filter((t) => t.split !== 'heldout').slice(0, SAMPLE_TASKS - 4), ...heldout.slice(0, 4)];
  return (
    <div class="scenario-detail" data-scenario={scenario.id}>
      <p>{scenario.description}</p>
      <p class="muted">
        version {scenario.version}
        {scenario.counts && ` · ${scenario.counts.tasks} tasks, ${scenario.counts.heldout} held out`}
        {scenario.counts?.logs
          ? ` · ${scenario.counts.logs} logged episodes (${scenario.counts.logs_heldout} held out, ` +
            `${scenario.counts.logs_with_reward} with an outcome, ${scenario.counts.logs_without_text} without text)`
          : ''}{' '}
        · max episodes {scenario.hyperparameters.max_episodes.min}–{scenario.hyperparameters.max_episodes.max} (default{' '}
        {scenario.hyperparameters.max_episodes.default}) · learning rate {scenario.hyperparameters.learning_rate.min}–
        {scenario.hyperparameters.learning_rate.max} (default {scenario.hyperparameters.learning_rate.default})
      </p>
      {(scenario.warnings ?? []).map((w) => (
        <p class="warning">
          {String(w.where ?? '')}: {String(w.msg ?? '')}
        </p>
      ))}
      <ErrorBox error={file.error} />
      <h3>Tools</h3>
      <table class="tools">
        <tbody>
          {(tools.length ? tools : (scenario.tools ?? []).map((name) => ({ name }))).map(
            (t: NonNullable<typeof tools>[number]) => (
              <tr>
                <td>
                  <code>{t.name}</code>
                </td>
                <td>{t.description}</td>
                <td class="muted">
                  {t.failure_rate ? `fails ${Math.round(t.failure_rate * 100)}%` : ''}
                  {t.fallback ? `, falls back to ${t.fallback}` : ''}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      {tasks.length > 0 && (
        <>
          <h3>
            Sample tasks ({sample.length} of {tasks.length}; {heldout.length} held out: scored, never trained on)
          </h3>
          <table class="tasks">
            <tbody>
              {sample.map((t) => (
                <tr data-split={t.split ?? 'train'}>
                  <td>
                    {t.split === 'heldout' ? <span class="tag">held out</span> : <span class="muted">train</span>}
                  </td>
                  <td>{t.text}</td>
                  <td class="muted">{t.intent}</td>
                  <td>
                    <code>{t.solution.join(' → ') || 'finish'}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {(file.value?.logs?.length ?? 0) > 0 && <Logs scenario={scenario} logs={file.value?.logs ?? []} />}
    </div>
  );
}

function UploadForm({ known, onPushed }: { known: Set<string>; onPushed: (s: Scenario) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [id, setId] = useState('');
  const [report, setReport] = useState<ValidationReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const upload = (): Upload | null => file && { body: file, type: scenarioType(file.name), id: id.trim() || undefined };
  const work = async (step: (u: Upload) => Promise<void>) => {
    const u = upload();
    if (!u) return;
    setBusy(true);
    setError(null);
    try {
      await step(u);
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.status === 422) setReport(null);
    } finally {
      setBusy(false);
    }
  };
  const validate = () => work(async (u) => setReport(await api.validate(u)));
  const push = () =>
    work(async (u) => {
      const target = report?.id ?? u.id;
      const pushed = await api.push(u, target && known.has(target) ? target : undefined);
      setReport(null);
      onPushed(pushed);
    });
  const jsonl = file ? scenarioType(file.name) === 'application/x-ndjson' : false;
  const exists = !!report?.id && known.has(report.id);
  return (
    <form class="upload" onSubmit={(e) => (e.preventDefault(), validate())} aria-label="Upload a scenario">
      <label>
        Scenario file (JSON, YAML or chat JSONL)
        <input
          name="scenario-file"
          type="file"
          accept=".json,.yaml,.yml,.jsonl,.ndjson"
          onChange={(e) => (setFile(e.currentTarget.files?.[0] ?? null), setReport(null))}
        />
      </label>
      <label>
        Id {jsonl ? '(needed for JSONL)' : '(optional)'}
        <input name="scenario-id" value={id} placeholder="shop_chats" onInput={(e) => setId(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!file || busy}>
        Validate
      </button>
      <button type="button" name="push" disabled={!report?.valid || busy} onClick={push}>
        {exists ? 'Push a new version' : 'Push'}
      </button>
      <ErrorBox error={error} />
      {report && <ReportView report={report} />}
    </form>
  );
}

function ReportView({ report }: { report: ValidationReport }) {
  return (
    <div class={`validation ${report.valid ? 'valid' : 'invalid'}`} data-valid={String(report.valid)}>
      <p>
        <strong>{report.valid ? 'Valid' : 'Not valid'}</strong>
        {report.id && ` · ${report.id} version ${report.version}`}
        {report.counts &&
          ` · ${report.counts.tools} tools, ${report.counts.tasks} tasks, ${report.counts.heldout} held out`}
      </p>
      <ul>
        {report.errors.map((p) => (
          <li class="error">
            <code>{p.where}</code> {p.msg}
          </li>
        ))}
        {report.warnings.map((p) => (
          <li class="warning">
            <code>{p.where}</code> {p.msg}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ScenariosPage() {
  const list = useLoad(() => api.list(), []);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const all = list.value ?? [];
  const remove = async (s: Scenario) => {
    setError(null);
    try {
      await api.remove(s.id);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <Section title="Bring your own scenario">
        <UploadForm
          known={new Set(all.map((s) => s.id))}
          onPushed={(s) => (setNote(`Pushed ${s.id}, version ${s.version}.`), setOpen(s.id), list.reload())}
        />
        {note && <p class="note">{note}</p>}
      </Section>
      <Section title={`Scenarios (${all.length})`}>
        <ErrorBox error={list.error || error} />
        {all.map((s) => (
          <div class="scenario" data-scenario-id={s.id}>
            <header>
              <button class="link" onClick={() => setOpen(open === s.id ? null : s.id)} aria-expanded={open === s.id}>
                {s.name}
              </button>
              <span class={`badge source-${s.source}`}>{s.source}</span>
              <span class="muted">
                {s.id} · {s.difficulty} · {s.counts?.tools ?? s.tools?.length ?? '?'} tools ·{' '}
                {s.counts?.tasks ?? s.tasks} tasks
              </span>
              {s.source === 'custom' && (
                <>
                  <a
                    class="loop-link"
                    href={loopLink(s.id)}
                    title="its improvement loop: retrain from its logs, promote"
                  >
                    Loop
                  </a>
                  <button class="danger small" onClick={() => remove(s)}>
                    Delete
                  </button>
                </>
              )}
            </header>
            {open === s.id && <Detail scenario={s} />}
          </div>
        ))}
      </Section>
    </>
  );
}
