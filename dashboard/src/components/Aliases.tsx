// Aliases: the tenant's names for its models (`production`), each with the history of the
// models it named; point one at a model, or roll it back to the one before (agentgym/aliases.py).
import { useState } from 'preact/hooks';
import { aliases } from '../api/endpoints';
import type { Alias, Model } from '../api/types';
import { ErrorBox, useLoad } from './ui';
import { time } from '../lib/format';

/** The model an alias named before its current one, as a rollback finds it (undoing moves in
 * turn; the API decides, this only says where it would go). */
export function previous(alias: Alias): string | null {
  const named: string[] = [];
  for (const change of alias.history) {
    if (!change.rollback) named.push(change.model_id);
    else {
      while (named.length && named[named.length - 1] !== change.model_id) named.pop();
      if (!named.length) named.push(change.model_id);
    }
  }
  while (named.length && named[named.length - 1] === alias.model_id) named.pop();
  return named.length ? named[named.length - 1] : null;
}

/** An alias's moves, newest first: when, to which model, by whom, why. */
export function AliasHistory({ alias, nameOf }: { alias: Alias; nameOf: (id: string) => string }) {
  return (
    <ol class="history">
      {[...alias.history].reverse().map((change) => (
        <li>
          {time(change.at)}: {change.rollback ? 'rolled back to' : 'set to'}{' '}
          <span title={change.model_id}>{nameOf(change.model_id)}</span> by {change.by}
          {change.why ? ` (“${change.why}”)` : ''}
        </li>
      ))}
    </ol>
  );
}

/** "Roll back", then a confirmation naming the model it goes back to (or "Keep"). */
export function Rollback({
  alias,
  nameOf,
  rollback,
}: {
  alias: Alias;
  nameOf: (id: string) => string;
  rollback: () => Promise<unknown>;
}) {
  const [confirming, setConfirming] = useState(false);
  const before = previous(alias);
  if (!confirming)
    return (
      <button
        name="rollback"
        disabled={!before}
        title={before ? `back to ${nameOf(before)}` : 'no earlier model'}
        onClick={() => setConfirming(true)}
      >
        Roll back
      </button>
    );
  return (
    <>
      <button name="confirm-rollback" class="danger" onClick={() => void rollback().then(() => setConfirming(false))}>
        Roll back to {before ? nameOf(before) : '?'}
      </button>
      <button name="cancel" onClick={() => setConfirming(false)}>
        Keep
      </button>
    </>
  );
}

export function Aliases({ models, changed }: { models: Model[]; changed: number }) {
  const list = useLoad(() => aliases.list(), [changed]);
  const [error, setError] = useState<unknown>(null);
  const [opened, setOpened] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [modelId, setModelId] = useState('');
  const [why, setWhy] = useState('');
  const nameOf = (id: string) => models.find((m) => m.id === id)?.name ?? id;
  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  const point = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      await aliases.set(name.trim(), modelId, why.trim() || undefined);
      setWhy('');
    });
  };
  const rollback = (alias: Alias) => act(() => aliases.rollback(alias.name, 'rolled back from the dashboard'));
  return (
    <div class="aliases">
      <ErrorBox error={list.error || error} />
      <table class="aliases">
        <thead>
          <tr>
            <th>alias</th>
            <th>names</th>
            <th>since</th>
            <th class="num">moves</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list.value ?? []).map((alias) => (
            <>
              <tr data-alias={alias.name}>
                <td>
                  <button
                    class="link"
                    name="history"
                    onClick={() => setOpened(opened === alias.name ? null : alias.name)}
                  >
                    {alias.name}
                  </button>
                </td>
                <td title={alias.model_id}>{nameOf(alias.model_id)}</td>
                <td>{time(alias.updated_at)}</td>
                <td class="num">{alias.version}</td>
                <td class="row-actions">
                  <Rollback alias={alias} nameOf={nameOf} rollback={() => rollback(alias)} />
                </td>
              </tr>
              {opened === alias.name && (
                <tr class="history">
                  <td colSpan={5}>
                    <AliasHistory alias={alias} nameOf={nameOf} />
                  </td>
                </tr>
              )}
            </>
          ))}
        </tbody>
      </table>
      {list.value && !list.value.length && <p class="muted">No aliases yet: name a model below.</p>}
      <form class="inline" aria-label="Point an alias at a model" onSubmit={point}>
        <label>
          Alias{' '}
          <input name="alias" value={name} placeholder="production" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Model{' '}
          <select name="model" value={modelId} onChange={(e) => setModelId(e.currentTarget.value)}>
            <option value="">choose one</option>
            {models.map((m) => (
              <option value={m.id}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          Why <input name="why" value={why} onInput={(e) => setWhy(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={!name.trim() || !modelId}>
          Point it
        </button>
      </form>
    </div>
  );
}
