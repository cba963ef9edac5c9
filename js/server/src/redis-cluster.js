// @ts-check
/**
 * {@link RedisCluster}: several server instances serving the same rooms, over Redis Streams.
 *
 * Each instance holds its own replica of every room it serves (its own store, its own replica
 * id), and the replicas of one room on the different instances are ordinary neighbours of each
 * other's `SyncSession`: the session messages one addresses to another go through a Redis
 * stream, the inbox of the destination in that room:
 *
 * ```text
 * dc:{room}:in:{replicaId}   stream: fields f (sender replica id, decimal), m (session message bytes),
 *                            or f and h (a hello: the sender joined the room),
 *                            or f and b (a bye: the sender evicted its replica of the room)
 * dc:{room}:members          hash: replicaId -> instance name (who holds a replica of the room)
 * dc:{room}:pos              hash: replicaId -> id of the last inbox entry whose effects are durable
 *                            (kept with the room itself when its store has `savePosition`, as
 *                            `PgStorage` does; this hash is then a copy for monitoring)
 * ```
 *
 * - A replica reads its inbox with XREAD from its stored position. Once what it merged is
 *   persisted (its `Doc` flushed), it stores the position and trims the inbox to it
 *   (`XTRIM MINID`): the only reader of an inbox is its owner, so its acknowledged position is
 *   the slowest reader's.
 * - A restarted instance loads the room from its store, reads its inbox from the stored
 *   position (what arrived while it was down), and the session's digest round catches up on
 *   anything else (a trimmed or lost entry, a Redis that lost its data).
 * - An instance that evicts an idle room leaves its members and says bye to the others, which
 *   stop keeping deltas for it; when it loads the room again, it says hello and catches up.
 * - Inboxes are also capped (`MAXLEN ~`, default 10,000 entries) so an instance that is gone for
 *   good cannot grow Redis without bound; the messages cut are session messages, which the
 *   session tolerates losing (it retransmits what is not acknowledged, or sends a digest).
 * - While Redis is unreachable, messages to it are dropped, not queued (the offline queue is
 *   off): memory stays bounded and the sessions resend once it is back.
 *
 * Why streams and not pub/sub: a pub/sub message published while a subscriber is restarting
 * (or disconnected) is gone, and the subscriber must then fetch whole states; a stream entry
 * waits for its reader, so a restart costs only the entries that arrived meanwhile
 * (`bench/scale.mjs` measures the difference).
 * @module
 */
import { Redis } from 'ioredis';

/**
 * @typedef {object} RedisClusterOptions
 * @property {string} url  `redis://host:port`
 * @property {string} instance  a name of this instance (shown in the members hash)
 * @property {number} [maxLen]  approximate cap of an inbox, in entries; default 10000
 * @property {number} [ackMs]  period of position saves and trims; default 500
 * @property {(msg: string) => void} [log]
 */

/**
 * @typedef {object} ClusterRoom
 * @property {import('./server.js').Room} room
 * @property {string} inbox
 * @property {string} lastId  the last entry read
 * @property {string} ackedId  the last entry stored as durable
 * @property {import('deltacrdt-provider').Transport} transport
 * @property {Set<bigint>} neighbours
 */

/** @param {string} room */
const key = (room) => `dc:{${room}}`;

/** The inter-instance transport of a server. */
export class RedisCluster {
  /** @type {Map<string, ClusterRoom>} */
  rooms = new Map();
  /** Bytes of session messages sent to other instances (payloads only). */
  bytesOut = 0;
  messagesOut = 0;
  bytesIn = 0;
  messagesIn = 0;
  /** Messages not sent because Redis was unreachable. */
  dropped = 0;
  #closed = false;
  /** @type {Promise<void> | undefined} */
  #loop;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #ackTimer;

  /** @param {RedisClusterOptions} options */
  constructor(options) {
    this.options = options;
    this.maxLen = options.maxLen ?? 10_000;
    this.log = options.log ?? (() => {});
    const common = {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (/** @type {number} */ n) => Math.min(50 * n, 500),
    };
    /** Commands (XADD, HSET, XTRIM). */
    this.cmd = new Redis(options.url, { ...common, enableAutoPipelining: true });
    /** The blocking XREAD loop. */
    this.reader = new Redis(options.url, common);
    this.cmd.on('error', () => {});
    this.reader.on('error', () => {});
  }

  /** Starts the read loop and the acknowledgement timer. */
  start() {
    this.#loop = this.#readLoop();
    this.#ackTimer = setInterval(() => void this.#ackAll(), this.options.ackMs ?? 500);
    this.#ackTimer.unref?.();
  }

  /**
   * Serves `room` through the cluster: registers its replica, adds the other instances'
   * replicas as neighbours, and reads its inbox from the stored position.
   * @param {import('./server.js').Room} room
   */
  async attach(room) {
    const id = room.doc.replicaId;
    const k = key(room.name);
    /** @type {ClusterRoom} */
    const cr = {
      room,
      inbox: `${k}:in:${id}`,
      lastId: '0-0',
      ackedId: '0-0',
      neighbours: new Set(),
      transport: {
        send: (to, bytes) => this.#send(cr, to, bytes),
      },
    };
    this.rooms.set(room.name, cr);
    room.doc.attach(cr.transport);
    try {
      await this.#ready();
      const stored = await positionStore(room)?.loadPosition();
      const pos = stored ?? (await this.cmd.hget(`${k}:pos`, id.toString()));
      if (pos && /^\d+-\d+$/.test(pos)) cr.lastId = cr.ackedId = pos;
      await this.#join(cr);
    } catch (e) {
      // Redis is down: the room works locally, and joins the others once messages flow
      // (any message from a replica makes it a neighbour).
      this.log(`cluster attach ${room.name}: ${e instanceof Error ? e.message : e}`);
      this.#retryMembers(cr);
    }
  }

  /** @param {ClusterRoom} cr */
  #retryMembers(cr) {
    const t = setTimeout(async () => {
      if (this.#closed || this.rooms.get(cr.room.name) !== cr) return;
      try {
        await this.#join(cr);
      } catch {
        this.#retryMembers(cr);
      }
    }, 500);
    t.unref?.();
  }

  /**
   * Registers the replica as a member of its room, makes every other member a neighbour, and
   * says hello in their inboxes (a replica with nothing to send would otherwise stay unknown
   * to them, and never be sent what they hold).
   * @param {ClusterRoom} cr
   */
  async #join(cr) {
    const k = key(cr.room.name);
    const id = cr.room.doc.replicaId.toString();
    await this.cmd.hset(`${k}:members`, id, this.options.instance);
    const members = await this.cmd.hgetall(`${k}:members`);
    for (const m of Object.keys(members)) {
      if (m === id) continue;
      this.#neighbour(cr, BigInt(m));
      await this.cmd.xadd(`${k}:in:${m}`, 'MAXLEN', '~', String(this.maxLen), '*', 'f', id, 'h', '1');
    }
  }

  async #ready() {
    if (this.cmd.status === 'ready') return;
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('redis is not ready')), 2000);
      this.cmd.once('ready', () => {
        clearTimeout(t);
        resolve(undefined);
      });
    });
  }

  /**
   * @param {ClusterRoom} cr
   * @param {bigint} id
   */
  #neighbour(cr, id) {
    if (id === cr.room.doc.replicaId || cr.neighbours.has(id)) return;
    // A client replica with the same id would be a different neighbour route: the cluster
    // replica ids are the rooms' own random 64-bit ids, so a clash is not expected; still,
    // a client route is never replaced.
    if (cr.room.peers.has(id)) return;
    cr.neighbours.add(id);
    cr.room.doc.addNeighbour(id, cr.transport);
  }

  /**
   * @param {ClusterRoom} cr
   * @param {bigint} to
   * @param {Uint8Array} bytes
   */
  #send(cr, to, bytes) {
    if (this.#closed) return;
    if (this.cmd.status !== 'ready') {
      this.dropped++;
      return;
    }
    this.bytesOut += bytes.length;
    this.messagesOut++;
    const inbox = `${key(cr.room.name)}:in:${to}`;
    this.cmd
      .xadd(inbox, 'MAXLEN', '~', String(this.maxLen), '*', 'f', cr.room.doc.replicaId.toString(), 'm', Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
      .catch(() => {
        this.dropped++;
      });
  }

  async #readLoop() {
    while (!this.#closed) {
      const rooms = [...this.rooms.values()];
      if (rooms.length === 0 || this.reader.status !== 'ready') {
        await sleep(50);
        continue;
      }
      /** @type {any} */
      let res;
      try {
        res = await this.reader.xreadBuffer('COUNT', 256, 'BLOCK', 200, 'STREAMS', ...rooms.map((r) => r.inbox), ...rooms.map((r) => r.lastId));
      } catch (e) {
        if (!this.#closed) await sleep(100);
        continue;
      }
      if (!res) continue;
      for (const [streamBuf, entries] of res) {
        const stream = streamBuf.toString();
        const cr = rooms.find((r) => r.inbox === stream);
        if (!cr || this.rooms.get(cr.room.name) !== cr) continue;
        for (const [idBuf, fields] of entries) {
          cr.lastId = idBuf.toString();
          /** @type {Buffer | undefined} */
          let from;
          /** @type {Buffer | undefined} */
          let msg;
          let bye = false;
          for (let i = 0; i + 1 < fields.length; i += 2) {
            const f = fields[i].toString();
            if (f === 'f') from = fields[i + 1];
            else if (f === 'm') msg = fields[i + 1];
            else if (f === 'b') bye = true;
          }
          if (!from) continue;
          let fromId;
          try {
            fromId = BigInt(from.toString());
          } catch {
            continue;
          }
          if (fromId <= 0n || fromId >= 1n << 64n) continue;
          if (bye) {
            // The sender evicted its replica of the room: stop buffering deltas for it (it
            // says hello again, and catches up by digest, when it loads the room again).
            if (cr.neighbours.delete(fromId)) cr.room.doc.removeNeighbour(fromId);
            continue;
          }
          this.#neighbour(cr, fromId);
          if (!msg) continue; // a hello
          this.bytesIn += msg.length;
          this.messagesIn++;
          try {
            cr.room.doc.receive(fromId, new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
          } catch (e) {
            this.log(`cluster ${cr.room.name}: refused a message from ${fromId}: ${e instanceof Error ? e.message : e}`);
          }
        }
      }
    }
  }

  /** Stores each room's read position once what it merged is durable, and trims its inbox. */
  async #ackAll() {
    if (this.cmd.status !== 'ready') return;
    for (const cr of [...this.rooms.values()]) {
      if (cr.lastId === cr.ackedId) continue;
      const id = cr.lastId;
      try {
        await cr.room.doc.flush();
        await this.#ack(cr, id);
      } catch {
        // The doc closed or Redis went away: the next round retries.
      }
    }
  }

  /**
   * @param {ClusterRoom} cr
   * @param {string} id
   */
  async #ack(cr, id) {
    const k = key(cr.room.name);
    // The position goes with the room (its store) when the store can hold it: it is then
    // exactly as durable as the state it stands for.
    await positionStore(cr.room)?.savePosition(id);
    await this.cmd.hset(`${k}:pos`, cr.room.doc.replicaId.toString(), id);
    await this.cmd.xtrim(cr.inbox, 'MINID', id);
    cr.ackedId = id;
  }

  /**
   * Stops serving `room` (before it is closed): its position is stored once its doc is
   * flushed. Other instances keep it as a member; its inbox fills until it is loaded again
   * (bounded by `maxLen`).
   * @param {import('./server.js').Room} room
   */
  async detach(room) {
    const cr = this.rooms.get(room.name);
    if (!cr || cr.room !== room) return;
    this.rooms.delete(room.name);
    room.doc.detach(cr.transport);
    const id = cr.lastId;
    if (this.cmd.status !== 'ready') return;
    try {
      if (id !== cr.ackedId) {
        await room.doc.flush();
        await this.#ack(cr, id);
      }
    } catch {
      // Redelivered next time: merging is idempotent.
    }
    // Leave the room's members and tell the others, so that they do not keep deltas for a
    // replica that is not listening. (A SIGKILLed instance cannot: the others keep its deltas
    // up to the session's buffer bound, then fall back to digest catch-up when it is back.)
    try {
      const k = key(room.name);
      const me = room.doc.replicaId.toString();
      await this.cmd.hdel(`${k}:members`, me);
      for (const n of cr.neighbours) {
        await this.cmd.xadd(`${k}:in:${n}`, 'MAXLEN', '~', String(this.maxLen), '*', 'f', me, 'b', '1');
      }
    } catch {
      // Redis went away: the others keep it as a neighbour (bounded, as after a SIGKILL).
    }
  }

  /** Stops the loop and closes the connections. */
  async close() {
    this.#closed = true;
    clearInterval(this.#ackTimer);
    this.reader.disconnect();
    await this.#loop;
    await this.cmd.quit().catch(() => this.cmd.disconnect());
  }
}

/**
 * The room's store, if it keeps an inbox position.
 * @param {import('./server.js').Room} room
 * @returns {{ loadPosition: () => Promise<string | undefined>, savePosition: (id: string) => Promise<void> } | undefined}
 */
function positionStore(room) {
  const st = /** @type {any} */ (room).store;
  return st && typeof st.loadPosition === 'function' && typeof st.savePosition === 'function' ? st : undefined;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
