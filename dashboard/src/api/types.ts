// The API's shapes, from its OpenAPI document (schema.d.ts, made by `make dashboard-types`).
import type { components } from './schema';

type Schemas = components['schemas'];

export type Status = Schemas['TrainingStatus'];
export type SessionStatus = Schemas['SessionStatus'];
export type Action = Schemas['Action'];
export type Framework = Schemas['Framework'];
export type Scenario = Schemas['ScenarioRecord'];
export type Model = Schemas['ModelInfo'];
export type Alias = Schemas['Alias'];
/** A scenario's improvement loop (agentgym/loops.py): as set, its runs, the run under way. */
export type LoopView = Schemas['LoopView'];
export type LoopBody = Schemas['LoopBody'];
export type LoopRun = Schemas['LoopRun'];
export type Verdict = Schemas['Verdict'];
export type ActAnswer = Schemas['ActAnswer'];
export type Episode = Schemas['Episode'];
export type EpisodeCall = Schemas['EpisodeCall'];
export type EpisodePage = Schemas['EpisodePage'];
export type ToolScore = Schemas['ToolScore'];
export type ConfusionCell = Schemas['ConfusionCell'];
export type StartRequest = Schemas['TrainingStartRequest'];
export type FeedClose = Schemas['FeedClose'];

/** A held-out evaluation: a session's latest (GET /evaluation) or a model's (POST /evaluate). */
export type Report = Schemas['SessionEvaluation'] | Schemas['EvaluateReply'];
export type Offline = Schemas['Offline'];

/** The live feed's frames (agentgym/messages.py): `/ws/training/<id>` sends a Snapshot, then
 * each Update (as `/metrics` returns them) and, with `episodes=1`, each EpisodeFrame. */
export type Update = Schemas['TrainingUpdate'];
export type Snapshot = Schemas['Snapshot'];
export type EpisodeFrame = Schemas['EpisodeFrame'];

/** What `/ws/training` sends: every session's status, then each change. */
export type DashboardFrame = Schemas['Sessions'] | Schemas['StatusEvent'];

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
  logs?: LoggedEpisode[];
}

/** An episode an agent played, as a scenario file holds it (README: "Your agent's traces"). */
export interface LoggedEpisode {
  id: string;
  text?: string;
  tools?: string[];
  calls: { tool: string; succeeded?: boolean; probability?: number; reward?: number }[];
  reward?: number;
  time?: string;
  split?: string;
}

/** `GET /api/scenarios/{id}/traces`: what the OTLP receiver read for a scenario. */
export interface TraceCounts {
  spans: number;
  ignored: number;
  skipped: Record<string, number>;
  episodes: number;
  late: number;
}

/** A decision in the log (`/api/decisions`): what a served model chose (agentgym/decisions.py). */
export interface Decision {
  kind: 'decision';
  id: string;
  time: number;
  model_id: string;
  scenario_id: string;
  text: string;
  served: string[];
  probabilities: Record<string, number>;
  first_probability: number;
  explored?: boolean;
  unsure?: boolean;
  in_scope?: boolean;
  session?: string | null;
  searched_again?: boolean; // on a page: a later search of its session came before any call
  reward?: number | null; // on a page asked with `feedback`: its feedback's reward (null: none)
  shadow?: components['schemas']['ShadowChoice'] | null; // a loop's shadow: what it would have served
}

/** A call an agent made after a decision, and how the upstream answered. The API joins it to
 * its decision (`joined_to`: by the `decision_id` it passed, or its MCP session) with the
 * rank at which the decision served its tool (null: not served, a miss). */
export interface DecisionCall {
  kind: 'call';
  id: string;
  time: number;
  decision_id: string | null;
  tool: string;
  is_error: boolean;
  latency_ms: number;
  session?: string | null;
  joined_to?: string;
  joined?: 'id' | 'session';
  rank?: number | null;
}

export type DecisionItem = Decision | DecisionCall;

export interface DecisionDetail {
  decision: Decision;
  calls: DecisionCall[];
  searched_again: boolean;
  feedback: { reward: number; comment?: string | null; time: number } | null;
}
