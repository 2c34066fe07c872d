// The app server's guard over real sockets: token, cookie, Origin/Host, CSRF, loopback.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startAppServer, type AppServer } from '../../src/app/server.ts';

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A raw HTTP request (fetch would not let a test set Host or Origin freely). */
function send(app: AppServer, o: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: app.port, method: o.method ?? 'GET', path: o.path, headers: { host: `127.0.0.1:${app.port}`, ...o.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('satpost app server: who may talk to it', () => {
  let dir: string;
  let app: AppServer;
  let cookie: string;
  let csrf: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'satpost-app-'));
    app = await startAppServer({ dataDir: join(dir, 'user') });
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('listens on loopback by default and prints a URL with a token', () => {
    assert.match(app.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  test('without the token or its cookie: 401, for the page, the API and the socket', async () => {
    assert.equal((await send(app, { path: '/' })).status, 401);
    assert.equal((await send(app, { path: '/app.js' })).status, 401);
    const api = await send(app, { path: '/api/state' });
    assert.equal(api.status, 401);
    assert.equal(JSON.parse(api.body).error.code, 'NO_TOKEN');
    assert.equal((await send(app, { path: '/?token=not-the-token' })).status, 401);
    await assert.rejects(openSocket(app, `http://127.0.0.1:${app.port}`, undefined), /401/);
  });

  test('the token is exchanged for an HttpOnly SameSite=Strict cookie and a redirect without it', async () => {
    const token = new URL(app.url).searchParams.get('token')!;
    const r = await send(app, { path: `/?token=${token}` });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const set = String(r.headers['set-cookie']);
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Strict/);
    cookie = set.split(';')[0]!;
    const page = await send(app, { path: '/', headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const state = await send(app, { path: '/api/state', headers: { cookie } });
    assert.equal(JSON.parse(state.body).state, 'new');
    csrf = JSON.parse((await send(app, { path: '/api/session', headers: { cookie } })).body).csrf;
    assert.equal(typeof csrf, 'string');
  });

  test('another Origin or Host: 403, even with the cookie', async () => {
    const o = await send(app, { path: '/api/state', headers: { cookie, origin: 'http://evil.example' } });
    assert.equal(o.status, 403);
    assert.equal(JSON.parse(o.body).error.code, 'BAD_ORIGIN');
    const h = await send(app, { path: '/api/state', headers: { cookie, host: `evil.example:${app.port}` } });
    assert.equal(h.status, 403);
    assert.equal(JSON.parse(h.body).error.code, 'BAD_HOST');
    await assert.rejects(openSocket(app, 'http://evil.example', cookie), /403/);
    const own = await send(app, { path: '/api/state', headers: { cookie, origin: app.origin } });
    assert.equal(own.status, 200);
  });

  test('a state-changing request without the CSRF token, or a wrong one: 403', async () => {
    const none = await send(app, { method: 'POST', path: '/api/lock', headers: { cookie, origin: app.origin } });
    assert.equal(none.status, 403);
    assert.equal(JSON.parse(none.body).error.code, 'BAD_CSRF');
    const wrong = await send(app, { method: 'POST', path: '/api/lock', headers: { cookie, origin: app.origin, 'x-csrf-token': `${csrf.slice(1)}x` } });
    assert.equal(wrong.status, 403);
    const right = await send(app, { method: 'POST', path: '/api/lock', headers: { cookie, origin: app.origin, 'x-csrf-token': csrf } });
    assert.equal(right.status, 200);
  });

  test('bad input is a typed error, not a crash', async () => {
    const headers = { cookie, origin: app.origin, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    const notJson = await send(app, { method: 'POST', path: '/api/unlock', headers, body: '{' });
    assert.equal(notJson.status, 400);
    assert.equal(JSON.parse(notJson.body).error.code, 'BAD_REQUEST');
    const locked = await send(app, { path: '/api/contacts', headers: { cookie } });
    assert.equal(locked.status, 409);
    assert.equal(JSON.parse(locked.body).error.code, 'NOT_INITIALIZED');
    // A restore whose file is not base64, or whose phrase is not one: refused before anything is created.
    const restore = (body: object) => send(app, { method: 'POST', path: '/api/restore', headers, body: JSON.stringify({ passphrase: 'p', relays: [], ...body }) });
    const notBase64 = await restore({ mnemonic: 'a b c', addressBook: 'not base64!' });
    assert.deepEqual([notBase64.status, JSON.parse(notBase64.body).error.code], [400, 'BAD_REQUEST']);
    const notPhrase = await restore({ mnemonic: 'not a recovery phrase' });
    assert.deepEqual([notPhrase.status, JSON.parse(notPhrase.body).error.code], [400, 'BAD_RECOVERY_PHRASE']);
    assert.equal(app.state.status(), 'new');
    const preview = await send(app, { method: 'POST', path: '/api/preview', headers, body: JSON.stringify({ to: 'carol', text: 'hi' }) });
    assert.deepEqual([preview.status, JSON.parse(preview.body).error.code], [409, 'NOT_INITIALIZED']);
  });

  test('the socket opens with the cookie and this origin, and says the state', async () => {
    const ws = await openSocket(app, app.origin, cookie);
    assert.deepEqual(JSON.parse(await ws.first), { type: 'state', state: 'new' });
    ws.close();
  });
});

/** Opens the socket; `first` is its first message (listened for before it can arrive). */
function openSocket(app: AppServer, origin: string, cookie: string | undefined): Promise<WebSocket & { first: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws`, { origin, headers: cookie ? { cookie } : {} });
    const first = new Promise<string>((r) => ws.once('message', (m) => r(String(m))));
    ws.once('open', () => resolve(Object.assign(ws, { first })));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}
