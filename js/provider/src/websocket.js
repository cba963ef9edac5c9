// @ts-check
/**
 * {@link WebSocketProvider}: connects a {@link Doc} to a room of a deltacrdt sync server. Every
 * provider of one URL (and token) shares one WebSocket: rooms are multiplexed over it (see
 * `protocol.js` for the framing). The connection reconnects with exponential backoff and full
 * jitter; edits made while offline stay in the doc (and its store) and go out after the
 * reconnect, by the session's digest catch-up.
 * @module
 */
import { Emitter } from './emitter.js';
import {
  T, encodeFrame, decodeFrame, encodeJoin, decodeJoined, decodeError, decodeStatus, ERROR_NAMES,
} from './protocol.js';

/**
 * @typedef {import('./doc.js').Doc} AnyDoc
 * @typedef {'connecting' | 'connected' | 'disconnected' | 'closed'} Status
 */

/**
 * The subset of the browser `WebSocket` the provider uses (the `ws` package's class fits).
 * @typedef {object} WebSocketLike
 * @property {string} binaryType
 * @property {number} readyState
 * @property {(data: Uint8Array) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {((ev: unknown) => void) | null} onopen
 * @property {((ev: unknown) => void) | null} onclose
 * @property {((ev: unknown) => void) | null} onerror
 * @property {((ev: { data: unknown }) => void) | null} onmessage
 */

/**
 * @typedef {new (url: string) => WebSocketLike} WebSocketConstructor
 */

/**
 * Options of a {@link WebSocketProvider}.
 * @typedef {object} ProviderOptions
 * @property {WebSocketConstructor} [WebSocket]  default `globalThis.WebSocket` (in Node 20: pass `ws`'s `WebSocket`)
 * @property {string} [token]  sent as `?token=` for the server's authorization hook
 * @property {number} [minBackoffMs]  first reconnect delay bound; default 250
 * @property {number} [maxBackoffMs]  largest reconnect delay bound; default 10000
 * @property {() => number} [random]  for tests; default Math.random
 * @property {string} [share]  providers of one URL, token and `share` share one connection; default ''
 */

/**
 * @typedef {object} ServerError
 * @property {number} code
 * @property {string} name
 * @property {string} message
 * @property {string} room
 */

/**
 * @typedef {object} ConnectionEvents
 * @property {Status} status
 * @property {ServerError} error
 */

/** @type {Map<string, Connection>} */
const pool = new Map();

/**
 * One WebSocket to one server, shared by every provider of that URL and token.
 * @extends {Emitter<ConnectionEvents>}
 */
export class Connection extends Emitter {
  /** @type {WebSocketLike | undefined} */
  #ws;
  /** @type {Map<string, WebSocketProvider>} */
  rooms = new Map();
  /** @type {Status} */
  status = 'disconnected';
  #attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retry;
  #url;
  #key;
  #opts;
  /** Reconnects so far (for tests and dashboards). */
  reconnects = 0;

  /**
   * @param {string} url
   * @param {string} key
   * @param {ProviderOptions} opts
   */
  constructor(url, key, opts) {
    super();
    this.#url = url;
    this.#key = key;
    this.#opts = opts;
  }

  /**
   * The shared connection of `url` and `opts.token`.
   * @param {string} url
   * @param {ProviderOptions} opts
   */
  static get(url, opts) {
    const key = `${url}\n${opts.token ?? ''}\n${opts.share ?? ''}`;
    let c = pool.get(key);
    if (!c) {
      c = new Connection(url, key, opts);
      pool.set(key, c);
    }
    return c;
  }

  /** @param {Status} s */
  #setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.emit('status', s);
    for (const p of this.rooms.values()) p._connectionStatus(s);
  }

  connect() {
    if (this.#ws || this.status === 'closed') return;
    const Ctor = this.#opts.WebSocket ?? /** @type {any} */ (globalThis).WebSocket;
    if (!Ctor) throw new Error('WebSocketProvider: no WebSocket class (pass options.WebSocket, e.g. from the ws package)');
    const u = new URL(this.#url);
    if (this.#opts.token !== undefined) u.searchParams.set('token', this.#opts.token);
    this.#setStatus('connecting');
    /** @type {WebSocketLike} */
    let ws;
    try {
      ws = new Ctor(u.toString());
    } catch (e) {
      this.#scheduleRetry();
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.#attempt = 0;
      this.#setStatus('connected');
      for (const p of this.rooms.values()) p._join();
    };
    ws.onmessage = (ev) => this.#onMessage(ev.data);
    ws.onerror = () => {};
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      if (this.status === 'closed') return;
      this.#setStatus('disconnected');
      this.#scheduleRetry();
    };
  }

  #scheduleRetry() {
    if (this.status === 'closed' || this.#retry || this.rooms.size === 0) return;
    const min = this.#opts.minBackoffMs ?? 250;
    const max = this.#opts.maxBackoffMs ?? 10_000;
    // Exponential backoff with full jitter: uniform in [0, min(max, min * 2^attempt)].
    const bound = Math.min(max, min * 2 ** Math.min(this.#attempt, 30));
    const delay = Math.max(min / 4, (this.#opts.random ?? Math.random)() * bound);
    this.#attempt++;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.reconnects++;
      this.connect();
    }, delay);
  }

  /** @param {unknown} data */
  #onMessage(data) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (!bytes) return;
    let f;
    try {
      f = decodeFrame(bytes);
    } catch {
      return;
    }
    if (f.type === T.ERROR) {
      const err = { ...decodeError(f.payload), room: f.room };
      this.emit('error', err);
      if (f.room) this.rooms.get(f.room)?._serverError(err);
      return;
    }
    this.rooms.get(f.room)?._frame(f.type, f.payload);
  }

  /**
   * @param {number} type
   * @param {string} room
   * @param {Uint8Array} [payload]
   * @returns {boolean} whether it was handed to the socket
   */
  send(type, room, payload) {
    const ws = this.#ws;
    if (!ws || this.status !== 'connected' || ws.readyState !== 1) return false;
    ws.send(encodeFrame(type, room, payload));
    return true;
  }

  /** Drops the socket now (it reconnects after the backoff); for tests of reconnection. */
  drop() {
    const ws = this.#ws;
    if (!ws) return;
    this.#ws = undefined;
    ws.onclose = null;
    ws.onmessage = null;
    ws.close();
    this.#setStatus('disconnected');
    this.#scheduleRetry();
  }

  /** @param {WebSocketProvider} p */
  _remove(p) {
    if (this.rooms.get(p.room) === p) this.rooms.delete(p.room);
    if (this.rooms.size === 0) {
      this.#setStatus('closed');
      clearTimeout(this.#retry);
      this.#retry = undefined;
      const ws = this.#ws;
      this.#ws = undefined;
      ws?.close();
      pool.delete(this.#key);
    }
  }
}

/**
 * @typedef {object} ProviderEvents
 * @property {Status} status
 * @property {boolean} synced
 * @property {ServerError} error
 */

/**
 * Connects `doc` to `room` on the server at `url`.
 *
 * ```js
 * const cart = new Doc('ORSet');
 * const provider = new WebSocketProvider('ws://127.0.0.1:8787', 'cart-42', cart);
 * provider.on('synced', (s) => console.log('synced', s));
 * ```
 *
 * - `status`: `connecting`, `connected` (joined the room), `disconnected` (retrying), `closed`.
 * - `synced`: joined, the server holds every change of this replica, and this replica holds
 *   everything the server had told it about (its STATUS says the client lacks nothing).
 * - `access`: what the server granted (`read` or `write`); a reader receives the room but
 *   its local edits stay local.
 * @extends {Emitter<ProviderEvents>}
 */
export class WebSocketProvider extends Emitter {
  /** @type {Connection} */
  #conn;
  #doc;
  #room;
  /** @type {bigint | undefined} */
  #server;
  /** @type {'none' | 'read' | 'write'} */
  access = 'none';
  /** @type {Status} */
  status = 'disconnected';
  synced = false;
  /** What the server last said this replica lacks (payload units; undefined: unknown). */
  serverSaysLacking = /** @type {number | undefined} */ (undefined);
  #joined = false;
  /** @type {import('./doc.js').Transport} */
  #transport;
  /** @type {Array<() => void>} */
  #syncWaiters = [];
  #pullGen = -1;
  /** The last ERROR frame of this room (undefined until one came). */
  lastError = /** @type {ServerError | undefined} */ (undefined);

  /**
   * @param {string} url  `ws://host:port` or `wss://...`
   * @param {string} room
   * @param {AnyDoc} doc
   * @param {ProviderOptions} [options]
   */
  constructor(url, room, doc, options = {}) {
    super();
    this.#doc = doc;
    this.#room = room;
    this.#conn = Connection.get(url, options);
    if (this.#conn.rooms.has(room)) throw new Error(`WebSocketProvider: room ${room} is already connected on ${url}`);
    this.#conn.rooms.set(room, this);
    this.#transport = {
      send: (_to, bytes) => {
        if (this.#joined && this.access === 'write') this.#conn.send(T.SYNC, this.#room, bytes);
      },
      afterDrain: () => this.#afterDrain(),
    };
    doc.attach(this.#transport);
    if (this.#conn.status === 'connected') this._join();
    else this.#conn.connect();
  }

  /** The room name. */
  get room() {
    return this.#room;
  }

  /** The shared connection. */
  get connection() {
    return this.#conn;
  }

  /** The doc. */
  get doc() {
    return this.#doc;
  }

  /** @internal */
  _join() {
    this.#joined = false;
    this.#conn.send(T.JOIN, this.#room, encodeJoin(this.#doc.replicaId, this.#doc.kind));
    this.#setStatus('connecting');
  }

  /**
   * @internal
   * @param {Status} s
   */
  _connectionStatus(s) {
    if (s !== 'connected') {
      this.#joined = false;
      this.#setStatus(s);
      this.#setSynced(false);
    }
  }

  /** @param {Status} s */
  #setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.emit('status', s);
  }

  /** @param {boolean} v */
  #setSynced(v) {
    if (this.synced === v) return;
    this.synced = v;
    this.emit('synced', v);
    if (v) {
      const w = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * Resolves when {@link synced} is next true (at once if it is).
   * @returns {Promise<void>}
   */
  whenSynced() {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.#syncWaiters.push(r));
  }

  /**
   * @internal
   * @param {ServerError} err
   */
  _serverError(err) {
    this.lastError = err;
    this.emit('error', err);
  }

  /**
   * @internal
   * @param {number} type
   * @param {Uint8Array} payload
   */
  _frame(type, payload) {
    try {
      if (type === T.JOINED) {
        const j = decodeJoined(payload);
        if (this.#server !== undefined) this.#doc.removeNeighbour(this.#server);
        this.#server = j.serverId;
        this.access = j.access === 2 ? 'write' : 'read';
        this.#joined = true;
        this.serverSaysLacking = undefined;
        if (this.access === 'write') this.#doc.addNeighbour(j.serverId, this.#transport);
        else this.#pull();
        this.#setStatus('connected');
      } else if (type === T.SYNC && this.#joined && this.#server !== undefined) {
        this.#doc.receive(this.#server, payload);
      } else if (type === T.DELTA && this.#joined) {
        this.#doc.mergeDelta(payload);
        // Acknowledge by pulling again once merged (and persisted).
        this.#pullGen = -1;
        void this.#doc.flush().then(() => this.#pull(), () => {});
      } else if (type === T.STATUS) {
        this.serverSaysLacking = decodeStatus(payload);
        this.#afterDrain();
      }
    } catch (e) {
      this.emit('error', { code: 0, name: 'CLIENT', message: e instanceof Error ? e.message : String(e), room: this.#room });
    }
  }

  #pull() {
    if (!this.#joined || this.access !== 'read') return;
    if (this.#pullGen === this.#doc.generation) return;
    this.#pullGen = this.#doc.generation;
    this.#conn.send(T.PULL, this.#room, this.#doc.session.version());
  }

  #afterDrain() {
    if (!this.#joined) return this.#setSynced(false);
    if (this.access === 'read') return this.#setSynced(this.serverSaysLacking === 0);
    const id = this.#server;
    const n = id === undefined ? undefined : this.#doc.session.stats().neighbours.find((x) => x.id === id);
    this.#setSynced(
      !!n && n.lacking === 0 && n.unacked === 0 && this.serverSaysLacking === 0
        && this.#doc.persisted,
    );
  }

  /** Leaves the room (the doc stays usable). */
  destroy() {
    if (this.status === 'closed') return;
    this.#conn.send(T.LEAVE, this.#room);
    this.#doc.detach(this.#transport);
    this.#joined = false;
    this.#setStatus('closed');
    this.#setSynced(false);
    this.#conn._remove(this);
  }
}

export { ERROR_NAMES };
