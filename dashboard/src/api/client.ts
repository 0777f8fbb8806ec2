// Every request to the API: same origin, the key when one is set, errors as ApiError(detail).
import { askForKey, currentKey } from './key';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = '',
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  type?: string; // Content-Type of `body`
  headers?: Record<string, string>;
}

async function errorOf(response: Response): Promise<ApiError> {
  let detail = `${response.status} ${response.statusText}`;
  let code = '';
  try {
    const body = await response.json();
    if (typeof body?.detail === 'string') detail = body.detail;
    else if (Array.isArray(body?.detail)) detail = body.detail.map((d: { msg?: string }) => d.msg).join('; ');
    code = body?.code ?? '';
  } catch {
    // not JSON: the status line says enough
  }
  return new ApiError(response.status, detail, code);
}

/** Fetch `path`; a 401 asks the user for a key (once for every request waiting) and retries. */
export async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { ...options.headers };
    const key = currentKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    } else if (options.type) {
      headers['Content-Type'] = options.type;
    }
    let response: Response;
    try {
      response = await fetch(path, { method: options.method ?? 'GET', headers, body });
    } catch {
      throw new ApiError(0, 'the API does not answer: is `agentgym up` running?');
    }
    if (response.ok) return response;
    const error = await errorOf(response);
    if (response.status === 401 && attempt < 3) {
      await askForKey(error.message);
      continue;
    }
    throw error;
  }
}

export async function getJson<T>(path: string): Promise<T> {
  return (await send(path)).json() as Promise<T>;
}

export async function postJson<T>(path: string, json?: unknown, headers?: Record<string, string>): Promise<T> {
  return (await send(path, { method: 'POST', json: json ?? undefined, headers })).json() as Promise<T>;
}

/** The message to show for anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
