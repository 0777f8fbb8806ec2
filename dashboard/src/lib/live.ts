// A WebSocket on the page's own origin that reconnects, with the API key as a subprotocol.
import { askForKey, currentKey } from '../api/key';
import type { FeedClose } from '../api/types';

const SUBPROTOCOL = 'agentgym';
// The API's own codes (typed by its OpenAPI document: a code it no longer sends is an error).
const CLOSE_UNAUTHORIZED: FeedClose = 4401;
const FINAL_CLOSES = new Set<number>([4400, 4403, 4404] satisfies FeedClose[]); // bad request, origin refused, unknown session
const MAX_BACKOFF_MS = 10_000;

export interface LiveOptions {
  /** The path and query to connect to, asked at every (re)connect: `since` moves on. */
  path: () => string;
  onMessage: (frame: any) => void;
  /** Told when the socket opens (true) or drops (false), for a "live" marker. */
  onState?: (live: boolean) => void;
  /** A close that will not be retried, with its reason. */
  onEnd?: (reason: string) => void;
}

function url(path: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/** Connect now; returns a function that closes it for good. */
export function live(options: LiveOptions): () => void {
  let socket: WebSocket | null = null;
  let closed = false;
  let backoff = 500;
  let timer: number | undefined;

  const connect = () => {
    if (closed) return;
    const key = currentKey();
    const ws = new WebSocket(url(options.path()), key ? [SUBPROTOCOL, key] : [SUBPROTOCOL]);
    socket = ws;
    ws.onopen = () => {
      backoff = 500;
      options.onState?.(true);
    };
    ws.onmessage = (event) => {
      if (closed || typeof event.data !== 'string') return;
      options.onMessage(JSON.parse(event.data));
    };
    ws.onclose = async (event) => {
      socket = null;
      options.onState?.(false);
      if (closed) return;
      if (event.code === CLOSE_UNAUTHORIZED) {
        await askForKey(event.reason || 'the WebSocket needs an API key');
        connect();
      } else if (FINAL_CLOSES.has(event.code)) {
        options.onEnd?.(event.reason || `closed (${event.code})`);
      } else {
        timer = window.setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    };
  };

  connect();
  return () => {
    closed = true;
    window.clearTimeout(timer);
    const ws = socket;
    if (!ws) return;
    // Closing one still connecting makes Chromium log an error: close it once it opens.
    if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close(1000);
    else ws.close(1000);
  };
}
