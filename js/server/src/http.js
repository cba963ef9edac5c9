// @ts-check
/**
 * The HTTP side of the server (same port as the WebSocket):
 *
 * - `GET /rooms/:room`: the room's state (binary), `ETag` derived from its version, `304` for
 *   a matching `If-None-Match`;
 * - `GET /rooms/:room?since=<version, base64url>`: only the delta since that version;
 * - `POST /rooms/:room` (body: a delta or a state, binary; `?kind=` creates the room):
 *   merges it, durably, and answers with the new `ETag`. Idempotent: posting the same delta
 *   twice is one effect (the second answers `changed: false` and the same ETag);
 * - `GET /metrics`: Prometheus text; `GET /api/stats`: the same as JSON (for the dashboard);
 * - `GET /dashboard`: the live replication dashboard; `GET /demo/`: the cart demo.
 *
 * Authorization: the server's hook, with the `Authorization: Bearer <token>` (or `?token=`).
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { etagOf, RoomError } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const publicDir = path.join(here, '..', 'public');
const require = createRequire(import.meta.url);
/** Where the browser builds the demo imports live. */
const libs = {
  deltacrdt: path.join(path.dirname(require.resolve('deltacrdt/package.json')), 'dist'),
  provider: path.join(path.dirname(require.resolve('deltacrdt-provider/package.json')), 'src'),
};
const TYPES = /** @type {Record<string, string>} */ ({
  '.js': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
});

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {number} max
 * @returns {Promise<Buffer | undefined>} undefined past `max`
 */
function body(req, max) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const parts = [];
    let n = 0;
    let over = false;
    req.on('data', (c) => {
      n += c.length;
      if (n > max) over = true;
      else parts.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {unknown} json
 * @param {Record<string, string>} [headers]
 */
function sendJson(res, status, json, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(json, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {string} root
 * @param {string} rel
 */
function sendFile(res, root, rel) {
  const full = path.join(root, path.normalize('/' + rel).slice(1));
  if (!full.startsWith(root)) return void res.writeHead(404).end();
  fs.readFile(full, (err, data) => {
    if (err) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    res.writeHead(200, { 'content-type': TYPES[path.extname(full)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(data);
  });
}

/**
 * @param {import('./server.js').Server} server
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
export async function handleHttp(server, req, res) {
  const url = new URL(req.url ?? '/', 'http://x');
  const p = url.pathname;
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'etag, x-deltacrdt-kind');
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type, if-none-match',
    });
    return void res.end();
  }
  if (p === '/favicon.ico') return void res.writeHead(204).end();
  if (p === '/metrics' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    return void res.end(server.metrics.prometheus());
  }
  if (p === '/api/stats' && req.method === 'GET') return sendJson(res, 200, server.metrics.snapshot());
  if (p === '/dashboard' || p === '/dashboard/') return sendFile(res, publicDir, 'dashboard.html');
  if (p.startsWith('/public/')) return sendFile(res, publicDir, p.slice('/public/'.length));
  if (server.options.demo !== false) {
    if (p === '/' ) return void res.writeHead(302, { location: '/demo/' }).end();
    if (p === '/demo' || p === '/demo/') return sendFile(res, publicDir, 'cart.html');
    if (p.startsWith('/_lib/deltacrdt/')) return sendFile(res, libs.deltacrdt, p.slice('/_lib/deltacrdt/'.length));
    if (p.startsWith('/_lib/provider/')) return sendFile(res, libs.provider, p.slice('/_lib/provider/'.length));
  }
  if (p.startsWith('/rooms/')) {
    let name;
    try {
      name = decodeURIComponent(p.slice('/rooms/'.length));
    } catch {
      return sendJson(res, 400, { error: 'BAD_ROOM', message: 'bad percent-encoding' });
    }
    return rooms(server, req, res, name, url);
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}

/**
 * @param {import('./server.js').Server} server
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} name
 * @param {URL} url
 */
async function rooms(server, req, res, name, url) {
  const auth = req.headers.authorization;
  const token = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token') ?? undefined;
  /** @type {import('./server.js').Access} */
  let access;
  try {
    access = await server.authorize({ room: name, token, request: req, via: 'http' });
  } catch {
    access = 'none';
  }
  if (access !== 'read' && access !== 'write') {
    server.metrics.refused(5);
    return sendJson(res, 403, { error: 'FORBIDDEN', message: 'not authorized for this room' });
  }
  if (req.method === 'GET') {
    let room;
    try {
      room = await server.room(name);
    } catch (e) {
      return sendJson(res, 400, { error: 'BAD_ROOM', message: e instanceof Error ? e.message : String(e) });
    }
    if (!room) return sendJson(res, 404, { error: 'NOT_FOUND', message: `no room ${name}` });
    const session = room.doc.session;
    const etag = etagOf(session.version());
    const headers = { etag, 'x-deltacrdt-kind': room.doc.kind, 'cache-control': 'no-cache' };
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').map((s) => s.trim()).includes(etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const since = url.searchParams.get('since');
    let bytes;
    if (since !== null) {
      try {
        bytes = session.deltaSince(new Uint8Array(Buffer.from(since, 'base64url')));
      } catch (e) {
        return sendJson(res, 400, { error: 'BAD_VERSION', message: e instanceof Error ? e.message : String(e) });
      }
    } else if (url.searchParams.get('format') === 'version') {
      bytes = session.version();
    } else {
      bytes = session.stateBytes();
    }
    res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream' });
    return void res.end(bytes);
  }
  if (req.method === 'POST') {
    if (access !== 'write') {
      server.metrics.refused(12);
      return sendJson(res, 403, { error: 'READ_ONLY', message: 'read-only access: POST refused' });
    }
    const data = await body(req, server.limits.maxMessageBytes);
    if (!data) {
      server.metrics.refused(2);
      return sendJson(res, 413, { error: 'TOO_LARGE', message: `body exceeds ${server.limits.maxMessageBytes} bytes` });
    }
    let room;
    try {
      room = await server.room(name, url.searchParams.get('kind') ?? undefined);
    } catch (e) {
      const code = e instanceof RoomError && e.code === 10 ? 503 : 400;
      return sendJson(res, code, { error: 'BAD_ROOM', message: e instanceof Error ? e.message : String(e) });
    }
    if (!room) return sendJson(res, 404, { error: 'NOT_FOUND', message: `no room ${name} (POST with ?kind= to create it)` });
    const bytes = new Uint8Array(data);
    // Validate on a scratch replica of the room's class first (type, damage, LWW timestamps
    // too far ahead): a refused body changes nothing.
    const Ctor = /** @type {any} */ (room.doc.replica).constructor;
    const scratch = new Ctor();
    try {
      scratch.merge(bytes);
    } catch (e) {
      room.refusals++;
      server.metrics.refused(8);
      return sendJson(res, 400, { error: 'REFUSED', message: e instanceof Error ? e.message : String(e) });
    } finally {
      scratch.free();
    }
    room.lastUsed = Date.now();
    let changed;
    try {
      changed = room.doc.mergeDelta(bytes);
      await room.doc.flush();
    } catch (e) {
      // A store that failed, or a room evicted in between: not acknowledged; retry.
      return sendJson(res, 503, { error: 'UNAVAILABLE', message: e instanceof Error ? e.message : String(e) });
    }
    const etag = etagOf(room.doc.session.version());
    server.metrics.httpPosts++;
    return sendJson(res, 200, { changed, etag }, { etag, 'x-deltacrdt-kind': room.doc.kind });
  }
  res.writeHead(405, { allow: 'GET, POST' }).end();
}
