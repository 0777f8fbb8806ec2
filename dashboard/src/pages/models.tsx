// Models: the trained models; download, import, evaluate and delete them.
import { useState } from 'preact/hooks';
import { models } from '../api/endpoints';
import type { ActAnswer, Model, Report as ReportData } from '../api/types';
import { Aliases } from '../components/Aliases';
import { Report } from '../components/Report';
import { ErrorBox, Section, useLoad } from '../components/ui';
import { count, fixed, percent, time } from '../lib/format';

function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Import({ onImported }: { onImported: (m: Model) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      onImported(await models.import(file));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label="Import a model">
      <label>
        Import a bundle (.agm)
        <input
          name="bundle"
          type="file"
          accept=".agm,.zip,application/zip"
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <button type="submit" disabled={!file || busy}>
        Import
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

/** A request tried on a model: what it would call, in order, and how sure it is. */
function TryIt({ model }: { model: Model }) {
  const [text, setText] = useState('');
  const [answer, setAnswer] = useState<ActAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setAnswer(await models.act(model.id, text));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const ranked = Object.entries(answer?.probabilities ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <form class="try" aria-label={`Try ${model.name}`} onSubmit={submit}>
      <textarea
        name="text"
        rows={2}
        placeholder="A request, as a user would write it"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy || !text.trim()}>
        {busy ? 'Asking…' : 'Ask'}
      </button>
      <ErrorBox error={error} />
      {answer && (
        <div class="answer">
          <p>
            <strong>plan:</strong> {answer.plan.length ? answer.plan.join(' → ') : '(finish at once)'}
          </p>
          <p class="prediction-set">
            <strong>
              {answer.coverage === null || answer.coverage === undefined
                ? 'any of:'
                : `right with ${percent(100 * answer.coverage)} probability among:`}
            </strong>{' '}
            {(answer.prediction_set ?? []).join(', ')}
          </p>
          <p class={`scope ${answer.in_scope ? (answer.unsure ? 'warning' : '') : 'error'}`}>
            {!answer.in_scope
              ? `out of scope (confidence ${fixed(answer.confidence, 2)}): unlike the requests it trained on; let the agent choose`
              : answer.unsure
                ? `in scope, unsure (confidence ${fixed(answer.confidence, 2)}): a kind of request it did not train on, or more than one choice fits; offer those`
                : `in scope (confidence ${fixed(answer.confidence, 2)})`}
          </p>
          <table class="probabilities">
            <tbody>
              {ranked.slice(0, 5).map(([tool, p]) => (
                <tr>
                  <td>{tool}</td>
                  <td class="num">{percent(100 * p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </form>
  );
}

export function ModelsPage() {
  const list = useLoad(() => models.list(), []);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [report, setReport] = useState<{ model: Model; report: ReportData } | null>(null);
  const [trying, setTrying] = useState<Model | null>(null);

  const run = async (id: string, work: () => Promise<void>) => {
    setBusy(id);
    setError(null);
    setNote('');
    try {
      await work();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  const download = (m: Model) =>
    run(m.id, async () => {
      const { blob, name } = await models.download(m.id);
      save(blob, name);
    });
  const evaluate = (m: Model) => run(m.id, async () => setReport({ model: m, report: await models.evaluate(m.id) }));
  const remove = (m: Model) =>
    run(m.id, async () => {
      await models.remove(m.id);
      setConfirming(null);
      if (report?.model.id === m.id) setReport(null);
      list.reload();
    });
  const imported = (m: Model) => {
    setNote(`Imported ${m.name} (${m.id}).`);
    list.reload();
  };

  return (
    <>
      <Section title="Models" actions={<Import onImported={imported} />}>
        <ErrorBox error={list.error || error} />
        {note && <p class="note">{note}</p>}
        <table class="models">
          <thead>
            <tr>
              <th>name</th>
              <th>scenario</th>
              <th>framework</th>
              <th class="num" title="on tasks it never trained on">
                held-out accuracy
              </th>
              <th class="num">episodes</th>
              <th>created</th>
              <th class="num">size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(list.value ?? []).map((m) => (
              <tr data-model={m.id}>
                <td title={m.id}>{m.name}</td>
                <td>{m.scenario}</td>
                <td>{m.framework}</td>
                <td class="num">{percent(m.accuracy)}</td>
                <td class="num">{count(m.episodes)}</td>
                <td>{time(m.created_at)}</td>
                <td class="num">{fixed(m.size_mb, 2)} MB</td>
                <td class="row-actions">
                  <button name="download" disabled={busy === m.id} onClick={() => download(m)}>
                    Download
                  </button>
                  <button name="try" onClick={() => setTrying(m)}>
                    Try
                  </button>
                  <button name="evaluate" disabled={busy === m.id} onClick={() => evaluate(m)}>
                    {busy === m.id ? 'Working…' : 'Evaluate'}
                  </button>
                  {confirming === m.id ? (
                    <>
                      <button name="confirm-delete" class="danger" onClick={() => remove(m)}>
                        Delete it
                      </button>
                      <button name="cancel" onClick={() => setConfirming(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button name="delete" class="danger" onClick={() => setConfirming(m.id)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.value && !list.value.length && (
          <p class="muted">No models yet: a run saves one when it completes or is stopped.</p>
        )}
      </Section>
      <Section title="Aliases">
        <Aliases models={list.value ?? []} changed={list.value?.length ?? 0} />
      </Section>
      {trying && (
        <Section title={`Try ${trying.name}`}>
          <TryIt key={trying.id} model={trying} />
        </Section>
      )}
      {report && (
        <Section title={`Evaluation of ${report.model.name}`}>
          <Report report={report.report} />
        </Section>
      )}
    </>
  );
}
