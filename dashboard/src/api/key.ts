// The API key, when the API asks for one (AGENTGYM_AUTH=apikey): entered once, kept for the
// browser session (sessionStorage), sent on every request and WebSocket.
const STORAGE = 'agentgym.apiKey';

type Listener = (reason: string | null) => void;

let pending: { promise: Promise<void>; resolve: () => void } | null = null;
const listeners = new Set<Listener>();

export function currentKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE);
  } catch {
    return null;
  }
}

/** Wait until the user has entered a key; every caller waiting shares one prompt. */
export function askForKey(reason: string): Promise<void> {
  if (!pending) {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    pending = { promise, resolve };
    listeners.forEach((listener) => listener(reason));
  }
  return pending.promise;
}

export function setKey(key: string): void {
  sessionStorage.setItem(STORAGE, key.trim());
  const waiting = pending;
  pending = null;
  listeners.forEach((listener) => listener(null));
  waiting?.resolve();
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE);
}

/** Called with the reason when a key is wanted, and with null once one is given. */
export function onKeyWanted(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
