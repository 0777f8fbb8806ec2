// The API's shapes, from its OpenAPI document (schema.d.ts, made by `make dashboard-types`).
// Fields the backend may not send yet are read with a fallback where they are used.
import type { components } from './schema';

type Schemas = components['schemas'];

export type Status = Schemas['TrainingStatus'];
export type SessionStatus = Schemas['SessionStatus'];
export type Framework = Schemas['Framework'];
export type Scenario = Schemas['ScenarioRecord'];
export type Model = Schemas['ModelInfo'];
export type Episode = Schemas['Episode'];
export type EpisodeCall = Schemas['EpisodeCall'];
export type EpisodePage = Schemas['EpisodePage'];
export type ToolScore = Schemas['ToolScore'];
export type ConfusionCell = Schemas['ConfusionCell'];
export type StartRequest = Schemas['TrainingStartRequest'];
export type FeedClose = Schemas['FeedClose'];

/** A held-out evaluation: a session's latest (GET /evaluation) or a model's (POST /evaluate). */
export type Report = Partial<Schemas['SessionEvaluation']> & {
  accuracy?: number;
  error?: string | null;
};

/** What `/ws/training/<id>` sends and `/metrics` returns. */
export interface Update {
  type: 'training_update';
  session_id: string;
  seq: number;
  data: Status;
}

export interface Snapshot {
  type: 'snapshot';
  session_id: string;
  seq: number;
  data: Status;
}

export interface EpisodeFrame {
  type: 'episode';
  session_id: string;
  seq: number;
  data: Episode;
}

/** What `/ws/training` sends: every session's status, then each change. */
export type DashboardFrame =
  | { type: 'sessions'; data: Status[] }
  | { type: 'status'; session_id: string; status: SessionStatus; previous?: SessionStatus | null };

export interface ValidationProblem {
  where?: string;
  msg?: string;
}

export interface ValidationReport {
  valid: boolean;
  errors: ValidationProblem[];
  warnings: ValidationProblem[];
  id?: string;
  version?: string;
  counts?: { tools: number; tasks: number; heldout: number };
}

/** A scenario file as `GET /api/scenarios/{id}/download` gives it (the parts shown here). */
export interface ScenarioFile {
  tools?: { name: string; description?: string; failure_rate?: number; fallback?: string }[];
  tasks?: { id?: string; text: string; solution: string[]; intent?: string; split?: string }[];
}
