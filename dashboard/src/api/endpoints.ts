// The API's routes, one function each (README.md, "The REST API").
import { ApiError, getJson, postJson, send } from './client';
import type {
  ActAnswer,
  Action,
  Alias,
  DecisionDetail,
  DecisionItem,
  Episode,
  EpisodePage,
  LoopBody,
  LoopRun,
  LoopView,
  Model,
  Report,
  Scenario,
  ScenarioFile,
  StartRequest,
  Status,
  TraceCounts,
  Update,
  ValidationReport,
} from './types';

const e = encodeURIComponent;
const METRICS_PAGE = 10_000; // the most /metrics returns at once (its `limit`)

export interface EpisodeQuery {
  split?: string;
  solved?: string;
  intent?: string;
  after?: number;
  limit?: number;
}

function query(params: Record<string, string | number | undefined>): string {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
  return pairs.length ? '?' + new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])) : '';
}

/** What `load` answers, or null where the API says there is none (404). */
async function unlessMissing<T>(load: Promise<T>): Promise<T | null> {
  try {
    return await load;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export const training = {
  list: () => getJson<Status[]>('/api/training'),
  get: (id: string) => getJson<Status>(`/api/training/${e(id)}`),
  start: (body: StartRequest, idempotencyKey: string) =>
    postJson<{ session_id: string }>('/api/training/start', body, { 'Idempotency-Key': idempotencyKey }),
  control: (id: string, action: Action) => postJson<{ status: string }>(`/api/training/${e(id)}/${action}`),
  remove: (id: string) => send(`/api/training/${e(id)}`, { method: 'DELETE' }),
  /**
   * The recorded updates after `since`, however many pages that takes; with `points`, thinned
   * by the API to at most that many, evenly spaced, the last kept (a long session's chart).
   */
  async metrics(id: string, since = 0, points?: number): Promise<Update[]> {
    const all: Update[] = [];
    for (;;) {
      const page = await getJson<Update[]>(
        `/api/training/${e(id)}/metrics${query({ since, points, limit: points ? undefined : METRICS_PAGE })}`,
      );
      all.push(...page);
      if (page.length < METRICS_PAGE) return all;
      since = page[page.length - 1].seq;
    }
  },
  episodes: (id: string, q: EpisodeQuery) => getJson<EpisodePage>(`/api/training/${e(id)}/episodes${query({ ...q })}`),
  episode: (id: string, seq: number) => getJson<Episode>(`/api/training/${e(id)}/episodes/${seq}`),
  /** The latest held-out evaluation, or null before the first. */
  evaluation: (id: string) => unlessMissing(getJson<Report>(`/api/training/${e(id)}/evaluation`)),
};

export const models = {
  list: () => getJson<Model[]>('/api/models'),
  remove: (id: string) => send(`/api/models/${e(id)}`, { method: 'DELETE' }),
  evaluate: (id: string) => postJson<Report>(`/api/models/${e(id)}/evaluate`),
  act: (id: string, text: string) => postJson<ActAnswer>(`/api/models/${e(id)}/act`, { text }),
  import: async (bundle: Blob) =>
    (
      await send('/api/models/import', { method: 'POST', body: bundle, type: 'application/zip' })
    ).json() as Promise<Model>,
  /** The bundle, and the file name the API gives it. */
  async download(id: string): Promise<{ blob: Blob; name: string }> {
    const response = await send(`/api/models/${e(id)}/download`);
    const disposition = response.headers.get('Content-Disposition') ?? '';
    const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? `${id}.agm`;
    return { blob: await response.blob(), name };
  },
};

export const aliases = {
  list: () => getJson<Alias[]>('/api/aliases'),
  get: (name: string) => getJson<Alias>(`/api/aliases/${e(name)}`),
  set: async (name: string, modelId: string, why?: string) =>
    (
      await send(`/api/aliases/${e(name)}`, { method: 'PUT', json: { model_id: modelId, why } })
    ).json() as Promise<Alias>,
  rollback: (name: string, why?: string) => postJson<Alias>(`/api/aliases/${e(name)}/rollback`, { why }),
};

/** A scenario's improvement loop: `get` is null where it has none (yet, or any more). */
export const loops = {
  get: (scenario: string) => unlessMissing(getJson<LoopView>(`/api/scenarios/${e(scenario)}/loop`)),
  set: async (scenario: string, body: LoopBody) =>
    (await send(`/api/scenarios/${e(scenario)}/loop`, { method: 'PUT', json: body })).json() as Promise<LoopView>,
  run: (scenario: string) => postJson<LoopRun>(`/api/scenarios/${e(scenario)}/loop/run`),
  stop: (scenario: string) => send(`/api/scenarios/${e(scenario)}/loop`, { method: 'DELETE' }),
};

const DECISIONS_PAGE = 1000; // the most /api/decisions returns at once

export const decisions = {
  /** A scenario's decisions and calls, the latest `most` of them at most, in order; with
   * `feedback`, each decision with its reward (a read more per decision, for the API). */
  async list(scenario: string, most = 5000, feedback = false): Promise<DecisionItem[]> {
    const all: DecisionItem[] = [];
    let after = 0;
    for (;;) {
      const page = await getJson<{ items: DecisionItem[]; next_after: number }>(
        `/api/decisions${query({ scenario, after, limit: DECISIONS_PAGE, feedback: feedback ? 'true' : undefined })}`,
      );
      all.push(...page.items);
      if (page.items.length < DECISIONS_PAGE) return all.slice(-most);
      after = page.next_after;
    }
  },
  get: (id: string) => getJson<DecisionDetail>(`/api/decisions/${e(id)}`),
};

/** How a scenario file is sent: by its name's ending. */
export function scenarioType(fileName: string): string {
  const name = fileName.toLowerCase();
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'application/x-ndjson';
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'application/yaml';
  return 'application/json';
}

export interface Upload {
  body: Blob;
  type: string;
  id?: string;
  name?: string;
}

export const scenarios = {
  list: () => getJson<Scenario[]>('/api/scenarios'),
  get: (id: string) => getJson<Scenario>(`/api/scenarios/${e(id)}`),
  file: (id: string) => getJson<ScenarioFile>(`/api/scenarios/${e(id)}/download`),
  traces: (id: string) => getJson<TraceCounts>(`/api/scenarios/${e(id)}/traces`),
  async validate(upload: Upload): Promise<ValidationReport> {
    const response = await send(`/api/scenarios/validate${query({ id: upload.id, name: upload.name })}`, {
      method: 'POST',
      body: upload.body,
      type: upload.type,
    });
    return response.json();
  },
  /** Create it (POST), or with `update` store a new version of that id (PUT). */
  async push(upload: Upload, update?: string): Promise<Scenario> {
    const path = update ? `/api/scenarios/${e(update)}` : '/api/scenarios';
    const response = await send(path + query({ id: update ? undefined : upload.id, name: upload.name }), {
      method: update ? 'PUT' : 'POST',
      body: upload.body,
      type: upload.type,
    });
    return response.json();
  },
  remove: (id: string) => send(`/api/scenarios/${e(id)}`, { method: 'DELETE' }),
};
