// @ts-check
/**
 * The deltacrdt sync server: every room is a replica (a `Doc` of `deltacrdt-provider`, one
 * `SyncSession`), and every connected writer is a neighbour of it. Rooms are multiplexed over
 * each WebSocket (framing in `deltacrdt-provider/protocol`). The server moves bytes between
 * the sessions and the sockets and persists each room before anything leaves it; it has no
 * CRDT logic of its own.
 * @module
 */
import http from 'node:http';
import crypto from 'node:crypto';
import { WebSocketServer } from 'ws';
import { SyncSession } from 'deltacrdt/sync';
import { Doc } from 'deltacrdt-provider';
import {
  T, E, decodeFrame, encodeFrame, decodeJoin, encodeJoined, encodeError, encodeStatus, roomBytes,
} from 'deltacrdt-provider/protocol';
import { FileStorage } from './file-storage.js';
import { MemoryStorage } from 'deltacrdt-provider/memory';
import { handleHttp } from './http.js';
import { Metrics } from './metrics.js';

/** @typedef {'none' | 'read' | 'write'} Access */
/** @typedef {import('deltacrdt/sync').SyncKind} SyncKind */

/**
 * What the authorization hook is asked.
 * @typedef {object} AuthRequest
 * @property {string} room
 * @property {string | undefined} token  `?token=` of the WebSocket URL, or the HTTP `Authorization: Bearer` token
 * @property {http.IncomingMessage} request  the upgrade or HTTP request
 * @property {'ws' | 'http'} via
 */

/**
 * @typedef {(req: AuthRequest) => Access | Promise<Access>} Authorize
 */

/**
 * Server limits. Frames past a limit are answered with an ERROR frame and change nothing.
 * @typedef {object} Limits
 * @property {number} [maxMessageBytes]  largest frame or HTTP body; default 1 MiB
 * @property {number} [maxRoomsPerConnection]  default 64
 * @property {number} [messagesPerSecond]  sustained frames per connection; default 1000 (burst 2x)
 * @property {number} [maxRooms]  rooms held in memory at once; default 10000
 * @property {number} [idleRoomMs]  a room without clients is evicted to storage after this; default 30000
 */

/**
 * @typedef {object} ServerOptions
 * @property {number} [port]  default 8787; 0 for any free port
 * @property {string} [host]  default 127.0.0.1
 * @property {string} [data]  directory of the file storage; without it (and `storage`) rooms live in memory
 * @property {import('deltacrdt-provider').Storage} [storage]  a storage adapter (overrides `data`)
 * @property {Authorize} [authorize]  default: everyone may read and write
 * @property {Limits} [limits]
 * @property {number} [tickMs]  sync round period of the rooms; default 50
 * @property {number} [heartbeatMs]  ping period; a connection that missed a pong is closed (default 15000)
 * @property {(msg: string) => void} [log]
 * @property {boolean} [demo]  serve the cart demo at /demo/ (default true)
 * @property {import('./redis-cluster.js').RedisCluster} [cluster]  scale-out: exchange each room's
 *   session messages with the other instances through Redis Streams
 */

/** @type {Map<string, boolean>} */
const kindCache = new Map();

/**
 * Whether `kind` is a kind of the `deltacrdt/sync` package (asked of the package itself, so
 * kinds it adds later are accepted with no change here).
 * @param {string} kind
 * @returns {boolean}
 */
export function isKind(kind) {
  let ok = kindCache.get(kind);
  if (ok === undefined) {
    try {
      new SyncSession(/** @type {SyncKind} */ (kind)).free();
      ok = true;
    } catch {
      ok = false;
    }
    if (kindCache.size < 64) kindCache.set(kind, ok);
  }
  return ok;
}

/**
 * A peer of a room.
 * @typedef {object} Peer
 * @property {Conn} conn
 * @property {bigint} replicaId
 * @property {Access} access
 * @property {number | undefined} lastStatus  the last lacking value sent in a STATUS frame
 * @property {number} staleSince  ms timestamp since when it lacks something (0: it lacks nothing)
 * @property {Uint8Array | undefined} version  readers: their last PULLed version
 * @property {number} pushedGen  readers: the doc generation last pushed
 * @property {number} pushedAt
 * @property {boolean} pending  readers: a push is not yet acknowledged by a PULL
 * @property {number} refusals
 * @property {number} readerBytesSent
 * @property {number} readerMessagesSent
 * @property {number} readerBytesReceived
 * @property {number} readerMessagesReceived
 * @property {number} joinedAt
 */

/** A room in memory. */
export class Room {
  /** @type {Map<bigint, Peer>} */
  peers = new Map();
  lastUsed = Date.now();
  refusals = 0;
  /** @type {import('deltacrdt-provider').Transport} */
  transport;
  /** @type {Uint8Array | undefined} */
  #empty;
  #emptyGen = -1;

  /**
   * @param {string} name
   * @param {Doc<any>} doc
   * @param {Server} server
   */
  constructor(name, doc, server) {
    this.name = name;
    this.doc = doc;
    this.server = server;
    this.transport = {
      send: (to, bytes) => {
        const p = this.peers.get(to);
        if (p) p.conn.sendFrame(T.SYNC, this.name, bytes);
      },
      afterDrain: () => this.#afterDrain(),
    };
    doc.attach(this.transport);
  }

  /** The delta an up-to-date holder gets (to tell "nothing to send"). */
  emptyDelta() {
    if (this.#emptyGen !== this.doc.generation || !this.#empty) {
      this.#empty = this.doc.session.deltaSince(this.doc.session.version());
      this.#emptyGen = this.doc.generation;
    }
    return this.#empty;
  }

  #afterDrain() {
    const now = Date.now();
    const writers = [...this.peers.values()].filter((p) => p.access === 'write');
    if (writers.length) {
      const stats = this.doc.session.stats();
      for (const n of stats.neighbours) {
        const p = this.peers.get(n.id);
        if (!p) continue;
        if (n.lacking !== p.lastStatus) {
          p.lastStatus = n.lacking;
          p.conn.sendFrame(T.STATUS, this.name, encodeStatus(n.lacking));
        }
        if (n.lacking === 0) p.staleSince = 0;
        else if (p.staleSince === 0) p.staleSince = Math.min(now, this.doc.lastChangeAt || now);
      }
    }
    for (const p of this.peers.values()) {
      if (p.access !== 'read' || !p.version) continue;
      const gen = this.doc.generation;
      if (p.pushedGen === gen && !(p.pending && now - p.pushedAt > 500)) continue;
      const d = this.doc.session.deltaSince(p.version);
      p.pushedGen = gen;
      if (equal(d, this.emptyDelta())) {
        p.pending = false;
        p.staleSince = 0;
        if (p.lastStatus !== 0) {
          p.lastStatus = 0;
          p.conn.sendFrame(T.STATUS, this.name, encodeStatus(0));
        }
        continue;
      }
      if (p.staleSince === 0) p.staleSince = Math.min(now, this.doc.lastChangeAt || now);
      if (p.lastStatus !== undefined) {
        p.lastStatus = undefined;
        p.conn.sendFrame(T.STATUS, this.name, encodeStatus(undefined));
      }
      p.pending = true;
      p.pushedAt = now;
      p.readerBytesSent += d.length;
      p.readerMessagesSent++;
      p.conn.sendFrame(T.DELTA, this.name, d);
    }
  }

  /**
   * @param {Peer} p
   */
  removePeer(p) {
    if (this.peers.get(p.replicaId) !== p) return;
    this.peers.delete(p.replicaId);
    if (p.access === 'write') this.doc.removeNeighbour(p.replicaId);
    this.lastUsed = Date.now();
  }
}

/**
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

let connCounter = 0;
/** Bytes queued on a socket past which session messages to it are dropped. */
const MAX_BUFFERED = 8 << 20;

/** One client connection. */
export class Conn {
  /** @type {Map<string, Peer>} */
  rooms = new Map();
  /** Rooms whose JOIN is being processed. */
  joining = new Set();
  tokens;
  lastRefill = Date.now();
  refused = 0;
  /** Answered the last ping (a vanished client is closed at the next heartbeat). */
  alive = true;

  /**
   * @param {import('ws').WebSocket} ws
   * @param {http.IncomingMessage} request
   * @param {string | undefined} token
   * @param {number} rate
   */
  constructor(ws, request, token, rate) {
    this.id = ++connCounter;
    this.ws = ws;
    this.request = request;
    this.token = token;
    this.rate = rate;
    this.tokens = 2 * rate;
  }

  /** Token bucket: whether one more frame is allowed now. */
  take() {
    const now = Date.now();
    this.tokens = Math.min(2 * this.rate, this.tokens + ((now - this.lastRefill) / 1000) * this.rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /**
   * @param {number} type
   * @param {string} room
   * @param {Uint8Array} [payload]
   */
  sendFrame(type, room, payload) {
    if (this.ws.readyState !== 1) return;
    // A client that does not read must not grow the server's memory: past the bound its
    // session messages are dropped (the sessions retransmit or catch up later); control
    // frames still go.
    if ((type === T.SYNC || type === T.DELTA) && this.ws.bufferedAmount > MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.ws.send(encodeFrame(type, room, payload));
  }

  /** Session messages dropped because the client did not read. */
  dropped = 0;

  /**
   * @param {string} room
   * @param {number} code
   * @param {string} message
   */
  error(room, code, message) {
    this.refused++;
    this.sendFrame(T.ERROR, room, encodeError(code, message));
  }
}

/** A running server. */
export class Server {
  /** @type {Map<string, Room>} */
  rooms = new Map();
  /** @type {Map<string, Promise<Room>>} */
  #loading = new Map();
  /** Rooms being evicted: a room is loaded again only once its files are closed. */
  /** @type {Map<string, Promise<void>>} */
  #evicting = new Map();
  /** @type {Set<Conn>} */
  conns = new Set();
  /** @type {import('deltacrdt-provider').Storage} */
  storage;
  limits;
  metrics;
  /** @type {http.Server} */
  http;
  /** @type {WebSocketServer} */
  wss;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #evictTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #heartbeat;
  started = Date.now();
  evictions = 0;

  /** @param {ServerOptions} options */
  constructor(options = {}) {
    this.options = options;
    this.storage = options.storage ?? (options.data ? new FileStorage(options.data) : new MemoryStorage());
    this.limits = {
      maxMessageBytes: options.limits?.maxMessageBytes ?? 1 << 20,
      maxRoomsPerConnection: options.limits?.maxRoomsPerConnection ?? 64,
      messagesPerSecond: options.limits?.messagesPerSecond ?? 1000,
      maxRooms: options.limits?.maxRooms ?? 10_000,
      idleRoomMs: options.limits?.idleRoomMs ?? 30_000,
    };
    this.authorize = options.authorize ?? (() => /** @type {Access} */ ('write'));
    this.log = options.log ?? (() => {});
    this.cluster = options.cluster;
    this.metrics = new Metrics(this);
    this.http = http.createServer((req, res) => {
      handleHttp(this, req, res).catch((e) => {
        this.log(`http: ${e instanceof Error ? e.stack : e}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // ws closes the connection (1009) past twice the frame limit; up to it, a clear ERROR frame.
    this.wss = new WebSocketServer({ server: this.http, maxPayload: 2 * this.limits.maxMessageBytes + 1024 });
    this.wss.on('connection', (ws, req) => this.#onConnection(ws, req));
  }

  /**
   * Listens; resolves with the port.
   * @returns {Promise<number>}
   */
  listen() {
    const port = this.options.port ?? 8787;
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        const a = this.http.address();
        this.port = typeof a === 'object' && a ? a.port : port;
        this.#evictTimer = setInterval(() => void this.evictIdle(), Math.min(5000, Math.max(100, this.limits.idleRoomMs / 4)));
        this.#heartbeat = setInterval(() => {
          for (const c of this.conns) {
            if (!c.alive) {
              c.ws.terminate();
              continue;
            }
            c.alive = false;
            c.ws.ping();
          }
        }, this.options.heartbeatMs ?? 15_000);
        this.cluster?.start();
        resolve(this.port);
      });
    });
  }

  /** @type {number | undefined} */
  port;

  /**
   * The room, loaded from storage (or created with `kind`); `undefined` if it does not exist
   * and no kind is given.
   * @param {string} name
   * @param {string} [kind]
   * @returns {Promise<Room | undefined>}
   */
  async room(name, kind) {
    const r = this.rooms.get(name);
    if (r) {
      r.lastUsed = Date.now();
      return r;
    }
    const pending = this.#loading.get(name);
    if (pending) return pending;
    const p = (async () => {
      await this.#evicting.get(name);
      const store = this.storage.room(name);
      const rec = await store.load();
      const k = rec?.kind ?? kind;
      if (k === undefined) return undefined;
      if (!isKind(k)) throw new RoomError(E.BAD_FRAME, `unknown kind ${k}`);
      if (this.rooms.size >= this.limits.maxRooms) await this.evictIdle(true);
      if (this.rooms.size >= this.limits.maxRooms) throw new RoomError(E.SERVER_FULL, 'too many rooms in memory');
      // Hand the loaded record back so the store is read once.
      const once = { ...store, load: async () => rec, saveMeta: store.saveMeta.bind(store), append: store.append.bind(store), compact: store.compact.bind(store), logBytes: store.logBytes.bind(store) };
      const doc = await Doc.open(/** @type {SyncKind} */ (k), {
        store: once,
        tickMs: this.options.tickMs ?? 50,
        session: { retransmitTicks: 6 },
      });
      const room = new Room(name, doc, this);
      /** @type {any} */ (room).store = store;
      this.rooms.set(name, room);
      if (this.cluster) await this.cluster.attach(room);
      return room;
    })();
    this.#loading.set(name, /** @type {Promise<Room>} */ (p));
    try {
      return await p;
    } finally {
      this.#loading.delete(name);
    }
  }

  /**
   * Evicts rooms without peers idle for `idleRoomMs` (or, with `force`, the least recently
   * used idle rooms down to 90% of `maxRooms`), compacting them to storage first.
   * @param {boolean} [force]
   */
  async evictIdle(force = false) {
    const now = Date.now();
    const idle = [...this.rooms.values()].filter((r) => r.peers.size === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    let excess = force ? this.rooms.size - Math.floor(this.limits.maxRooms * 0.9) : 0;
    for (const r of idle) {
      if (now - r.lastUsed < this.limits.idleRoomMs && excess <= 0) break;
      excess--;
      await this.#evict(r);
    }
  }

  /** @param {Room} r */
  async #evict(r) {
    if (this.rooms.get(r.name) !== r) return;
    this.rooms.delete(r.name);
    const done = (async () => {
      try {
        await this.cluster?.detach(r);
        await r.doc.close({ compact: true });
      } catch (e) {
        this.log(`evict ${r.name}: ${e instanceof Error ? e.message : e}`);
      }
      /** @type {any} */ (r).store?.close?.();
      this.evictions++;
    })();
    this.#evicting.set(r.name, done);
    try {
      await done;
    } finally {
      if (this.#evicting.get(r.name) === done) this.#evicting.delete(r.name);
    }
  }

  /**
   * @param {import('ws').WebSocket} ws
   * @param {http.IncomingMessage} req
   */
  #onConnection(ws, req) {
    const url = new URL(req.url ?? '/', 'http://x');
    const conn = new Conn(ws, req, url.searchParams.get('token') ?? undefined, this.limits.messagesPerSecond);
    this.conns.add(conn);
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
      this.#onFrame(conn, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), isBinary);
    });
    ws.on('close', () => {
      this.conns.delete(conn);
      for (const [name, p] of conn.rooms) this.rooms.get(name)?.removePeer(p);
      conn.rooms.clear();
    });
    ws.on('error', () => {});
  }

  /**
   * @param {Conn} conn
   * @param {Uint8Array} bytes
   * @param {boolean} isBinary
   */
  #onFrame(conn, bytes, isBinary) {
    this.metrics.framesIn++;
    this.metrics.bytesIn += bytes.length;
    if (!conn.take()) return this.#refuse(conn, '', E.RATE_LIMITED, `more than ${this.limits.messagesPerSecond} frames/s`);
    if (!isBinary) return this.#refuse(conn, '', E.BAD_FRAME, 'frames are binary');
    if (bytes.length > this.limits.maxMessageBytes) {
      return this.#refuse(conn, '', E.TOO_LARGE, `frame of ${bytes.length} bytes exceeds ${this.limits.maxMessageBytes}`);
    }
    let f;
    try {
      f = decodeFrame(bytes);
    } catch (e) {
      return this.#refuse(conn, '', E.BAD_FRAME, e instanceof Error ? e.message : String(e));
    }
    const peer = conn.rooms.get(f.room);
    switch (f.type) {
      case T.JOIN:
        void this.#join(conn, f.room, f.payload);
        return;
      case T.LEAVE:
        if (peer) {
          this.rooms.get(f.room)?.removePeer(peer);
          conn.rooms.delete(f.room);
        }
        return;
      case T.SYNC: {
        if (!peer) return this.#refuse(conn, f.room, E.NOT_JOINED, 'join the room first');
        const room = this.rooms.get(f.room);
        if (!room) return this.#refuse(conn, f.room, E.NOT_JOINED, 'join the room first');
        if (peer.access !== 'write') {
          peer.refusals++;
          room.refusals++;
          return this.#refuse(conn, f.room, E.READ_ONLY, 'read-only access: SYNC refused');
        }
        room.lastUsed = Date.now();
        try {
          room.doc.receive(peer.replicaId, f.payload);
        } catch (e) {
          peer.refusals++;
          room.refusals++;
          return this.#refuse(conn, f.room, E.REFUSED, e instanceof Error ? e.message : String(e));
        }
        return;
      }
      case T.PULL: {
        const room = this.rooms.get(f.room);
        if (!peer || !room) return this.#refuse(conn, f.room, E.NOT_JOINED, 'join the room first');
        room.lastUsed = Date.now();
        try {
          room.doc.session.deltaSince(f.payload); // validates the version
        } catch (e) {
          peer.refusals++;
          room.refusals++;
          return this.#refuse(conn, f.room, E.REFUSED, e instanceof Error ? e.message : String(e));
        }
        peer.version = f.payload.slice();
        peer.readerBytesReceived += bytes.length;
        peer.readerMessagesReceived++;
        peer.pending = false;
        peer.pushedGen = -1;
        void room.doc.flush().catch(() => {});
        return;
      }
      default:
        return this.#refuse(conn, f.room, E.BAD_FRAME, `frame type ${f.type} is not sent by clients`);
    }
  }

  /**
   * @param {Conn} conn
   * @param {string} room
   * @param {number} code
   * @param {string} message
   */
  #refuse(conn, room, code, message) {
    this.metrics.refused(code);
    conn.error(room, code, message);
  }

  /**
   * @param {Conn} conn
   * @param {string} name
   * @param {Uint8Array} payload
   */
  async #join(conn, name, payload) {
    let j;
    try {
      j = decodeJoin(payload);
    } catch (e) {
      return this.#refuse(conn, name, E.BAD_FRAME, e instanceof Error ? e.message : String(e));
    }
    if (!isKind(j.kind)) return this.#refuse(conn, name, E.BAD_FRAME, `unknown kind ${j.kind}`);
    if (conn.joining.has(name)) return this.#refuse(conn, name, E.BAD_FRAME, 'a JOIN of this room is in progress');
    if (!conn.rooms.has(name) && conn.rooms.size + conn.joining.size >= this.limits.maxRoomsPerConnection) {
      return this.#refuse(conn, name, E.TOO_MANY_ROOMS, `at most ${this.limits.maxRoomsPerConnection} rooms per connection`);
    }
    conn.joining.add(name);
    try {
      /** @type {Access} */
      let access;
      try {
        access = await this.authorize({ room: name, token: conn.token, request: conn.request, via: 'ws' });
      } catch (e) {
        access = 'none';
      }
      if (access !== 'read' && access !== 'write') {
        return this.#refuse(conn, name, E.FORBIDDEN, 'not authorized for this room');
      }
      let room;
      try {
        room = await this.room(name, j.kind);
      } catch (e) {
        if (e instanceof RoomError) return this.#refuse(conn, name, e.code, e.message);
        throw e;
      }
      if (!room) return this.#refuse(conn, name, E.INTERNAL, 'room could not be created');
      if (conn.ws.readyState !== 1) return;
      if (room.doc.kind !== j.kind) {
        return this.#refuse(conn, name, E.KIND_MISMATCH, `room ${name} holds a ${room.doc.kind}, not a ${j.kind}`);
      }
      if (j.replicaId === room.doc.replicaId) return this.#refuse(conn, name, E.REPLICA_IN_USE, 'replica id is the server\u2019s');
      const old = conn.rooms.get(name);
      if (old) room.removePeer(old);
      const other = room.peers.get(j.replicaId);
      if (other) {
        // The same replica on a new connection (a reconnect before the old one closed): the
        // newest wins.
        room.removePeer(other);
        other.conn.rooms.delete(name);
        other.conn.error(name, E.REPLACED, 'this replica joined the room on another connection');
      }
      /** @type {Peer} */
      const peer = {
        conn, replicaId: j.replicaId, access, lastStatus: -1, staleSince: 0, version: undefined,
        pushedGen: -1, pushedAt: 0, pending: false, refusals: 0, readerBytesSent: 0, readerMessagesSent: 0,
        readerBytesReceived: 0, readerMessagesReceived: 0, joinedAt: Date.now(),
      };
      room.peers.set(j.replicaId, peer);
      conn.rooms.set(name, peer);
      room.lastUsed = Date.now();
      conn.sendFrame(T.JOINED, name, encodeJoined(access === 'write' ? 2 : 1, room.doc.replicaId, room.doc.kind));
      if (access === 'write') room.doc.addNeighbour(j.replicaId, room.transport);
    } catch (e) {
      this.log(`join ${name}: ${e instanceof Error ? e.stack : e}`);
      this.#refuse(conn, name, E.INTERNAL, 'internal error');
    } finally {
      conn.joining.delete(name);
    }
  }

  /** Stops accepting, closes every connection, persists and compacts every room. */
  async close() {
    clearInterval(this.#evictTimer);
    clearInterval(this.#heartbeat);
    for (const c of this.conns) c.ws.terminate();
    await new Promise((r) => this.wss.close(() => r(undefined)));
    await new Promise((r) => this.http.close(() => r(undefined)));
    this.http.closeAllConnections?.();
    for (const r of [...this.rooms.values()]) await this.#evict(r);
    await this.cluster?.close();
  }
}

/** An error with a protocol error code. */
export class RoomError extends Error {
  /**
   * @param {number} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Creates and starts a server.
 * @param {ServerOptions} [options]
 * @returns {Promise<Server>}
 */
export async function startServer(options = {}) {
  const s = new Server(options);
  await s.listen();
  return s;
}

/**
 * An ETag of a version: a quoted hash of its bytes.
 * @param {Uint8Array} version
 */
export function etagOf(version) {
  return `"${crypto.createHash('sha256').update(version).digest('base64url').slice(0, 27)}"`;
}

export { roomBytes };
