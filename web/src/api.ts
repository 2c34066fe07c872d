/** The app server's API: JSON over fetch with the session's CSRF token, events over one WebSocket. */
import type { ApiError } from './errors.ts';

export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

let csrf: string | undefined;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  if (method !== 'GET' && csrf === undefined) csrf = (await call<{ csrf: string }>('GET', '/api/session')).csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(method !== 'GET' ? { 'x-csrf-token': csrf! } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiFailure({ code: 'NETWORK_DOWN', message: 'the app server does not answer' });
  }
  const v = (await res.json().catch(() => ({}))) as { error?: ApiError };
  if (!res.ok) throw new ApiFailure(v.error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` });
  return v as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body);

export type AppEvent = { type: string; [k: string]: unknown };

/** One socket for the page's life, reconnecting after a drop. */
export function events(fn: (e: AppEvent) => void): void {
  const open = () => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws.onmessage = (m) => fn(JSON.parse(String(m.data)) as AppEvent);
    ws.onclose = () => setTimeout(open, 1000);
  };
  open();
}
