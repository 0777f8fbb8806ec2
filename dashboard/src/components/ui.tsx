// Small pieces every page uses.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api/client';
import { progressOf } from '../lib/format';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {messageOf(error)}
    </p>
  );
}

export function StatusBadge({ status, pending }: { status: string; pending?: string | null }) {
  return (
    <span class={`badge status-${status}`} data-status={status}>
      {status}
      {pending ? ` (${pending}ing)` : ''}
    </span>
  );
}

export function Progress({
  session,
}: {
  session: { progress?: number; current_episode: number; max_episodes: number };
}) {
  const share = progressOf(session);
  return (
    <span class="progress" title={`${session.current_episode} of ${session.max_episodes} episodes`}>
      <span class="bar" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      <span class="label">{(share * 100).toFixed(0)}%</span>
    </span>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card">
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** Load something when `deps` change; `reload` loads it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => current && setState({ value, loading: false }),
      (error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Run `tick` every `ms` while `active`. */
export function useInterval(tick: () => void, ms: number, active = true) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

/** One labelled number in a `<dl class="figures">`. */
export function Figure({ label, children, name }: { label: string; children: ComponentChildren; name?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-figure={name}>{children}</dd>
    </div>
  );
}
