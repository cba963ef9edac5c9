// @ts-check
/**
 * {@link Doc}: one replica of one CRDT, driven for the network. It owns a `SyncSession` of the
 * `deltacrdt/sync` package, its tick loop, optional persistence, and routes the session's
 * messages to the transports ({@link import('./websocket.js').WebSocketProvider},
 * {@link import('./broadcast.js').BroadcastChannelProvider}, or the server's connections).
 *
 * The invariant that makes persistence safe: **no message leaves before every change the
 * replica holds is durable in its store.** Every change (a local edit or a merged remote delta)
 * marks the replica dirty; the send loop first appends the delta since the last persisted
 * version to the store and waits for it, and only then drains the session. So an
 * acknowledgement never precedes the durability of what it acknowledges, and a local edit is
 * never seen by anyone before it is on disk.
 * @module
 */
import { SyncSession } from 'deltacrdt/sync';
import { Emitter } from './emitter.js';

/**
 * @typedef {import('deltacrdt/sync').SyncKind} SyncKind
 * @typedef {import('deltacrdt/sync').SyncOptions} SyncOptions
 */

/**
 * What a store returns for a replica it holds.
 * @typedef {object} ReplicaRecord
 * @property {string} kind  the CRDT type
 * @property {bigint} replicaId
 * @property {bigint} incarnation  of the latest run that saved its meta
 * @property {Uint8Array | undefined} snapshot  the state at the last compaction
 * @property {Uint8Array[]} deltas  deltas appended since, in order
 */

/**
 * The identity of a replica's run, saved before the run sends anything.
 * @typedef {object} ReplicaMeta
 * @property {string} kind
 * @property {bigint} replicaId
 * @property {bigint} incarnation
 */

/**
 * The storage-adapter interface: durable storage of one replica (one room). Every method
 * resolves only once what it wrote is durable (fsync, a committed transaction). Implementations:
 * `FileStorage` (server, `deltacrdt-server`), `IndexedDBStorage` (browsers), `MemoryStorage`
 * (tests). A database adapter implements the same five members.
 * @typedef {object} ReplicaStore
 * @property {() => Promise<ReplicaRecord | undefined>} load  what was saved, or `undefined`
 * @property {(meta: ReplicaMeta) => Promise<void>} saveMeta  records a new run (before it sends)
 * @property {(delta: Uint8Array) => Promise<void>} append  appends one delta to the log
 * @property {(state: Uint8Array) => Promise<void>} compact  replaces snapshot + log by `state` (which includes them)
 * @property {() => number} logBytes  bytes appended since the last compaction
 */

/**
 * A factory of stores, one per room.
 * @typedef {object} Storage
 * @property {(room: string) => ReplicaStore} room
 */

/**
 * Options of a {@link Doc}.
 * @typedef {object} DocOptions
 * @property {ReplicaStore} [store]  persistence; without it the replica lives in memory
 * @property {number} [tickMs]  period of the sync rounds (retransmissions, catch-up); default 50
 * @property {number} [minTickMs]  a change starts a round at once, at most every this many ms; default 5
 * @property {number} [compactBytes]  compact the store when its log exceeds this; default 1 MiB
 * @property {SyncOptions} [session]  options of the `SyncSession` (strategy, buffer limits, ...)
 */

/**
 * A transport the doc sends messages through.
 * @typedef {object} Transport
 * @property {(to: bigint, bytes: Uint8Array) => void} send
 * @property {() => void} [afterDrain]  called after each drain (status frames, reader pushes)
 */

/**
 * @typedef {object} DocEvents
 * @property {{ local: boolean, origin: unknown }} change
 * @property {Error} error
 * @property {void} drained
 */

/**
 * One replica of one CRDT, connected to any number of transports.
 *
 * ```js
 * const cart = new Doc('ORSet');
 * new WebSocketProvider('ws://127.0.0.1:8787', 'cart-42', cart);
 * cart.replica.add('sku-1');
 * ```
 * @template {SyncKind} [K=SyncKind]
 * @extends {Emitter<DocEvents>}
 */
export class Doc extends Emitter {
  /** @type {SyncSession<K>} */
  #session;
  /** @type {ReplicaStore | undefined} */
  #store;
  #gen = 0;
  #persistedGen = 0;
  /** @type {Uint8Array} */
  #persistedVersion;
  #running = false;
  #again = false;
  #scheduled = false;
  #tickDue = false;
  #lastTick = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #tickTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #interval;
  #tickMs;
  #minTickMs;
  #compactBytes;
  /** @type {Map<bigint, Transport>} */
  #routes = new Map();
  /** @type {Set<Transport>} */
  #transports = new Set();
  #closed = false;
  /** @type {Error | undefined} */
  #failed;
  /** @type {Array<[() => void, (e: Error) => void]>} */
  #idleWaiters = [];
  /** The time (ms) of the latest change; for staleness estimates. */
  lastChangeAt = 0;

  /**
   * A doc in memory (use {@link Doc.open} to load a persisted one).
   * @param {K} kind
   * @param {DocOptions} [options]
   * @param {SyncSession<K>} [session]  @internal
   */
  constructor(kind, options = {}, session) {
    super();
    this.#session = session ?? new SyncSession(kind, options.session ?? {});
    this.#store = options.store;
    this.#tickMs = options.tickMs ?? 50;
    this.#minTickMs = options.minTickMs ?? 5;
    this.#compactBytes = options.compactBytes ?? 1 << 20;
    this.#persistedVersion = this.#session.version();
    this.#session.replica.onChange((e) => {
      this.#gen++;
      this.lastChangeAt = Date.now();
      if (!this.#store) this.#persistedGen = this.#gen;
      this.emit('change', e);
      this.#requestTick();
    });
  }

  /**
   * Loads the replica saved in `options.store` (or creates it there), starting a new run
   * (incarnation) that is recorded before anything is sent.
   * @template {SyncKind} K
   * @param {K} kind
   * @param {DocOptions & { store: ReplicaStore }} options
   * @returns {Promise<Doc<K>>}
   */
  static async open(kind, options) {
    const store = options.store;
    const rec = await store.load();
    const sopts = options.session ?? {};
    /** @type {SyncSession<K>} */
    let session;
    if (rec) {
      if (rec.kind !== kind) throw new TypeError(`Doc.open: the store holds a ${rec.kind}, not a ${kind}`);
      const incarnation = rec.incarnation + 1n;
      const state = Doc.replay(kind, rec);
      await store.saveMeta({ kind, replicaId: rec.replicaId, incarnation });
      session = SyncSession.restore(kind, state, { ...sopts, replicaId: rec.replicaId, incarnation });
      // The store holds every change before any message left (the invariant above): the save
      // is current, so local edits need not wait for the neighbours' answers.
      session.endRecovery();
    } else {
      session = new SyncSession(kind, { ...sopts, incarnation: 1n });
      await store.saveMeta({ kind, replicaId: session.replicaId, incarnation: 1n });
    }
    return new Doc(kind, options, session);
  }

  /**
   * The state of a stored record: its snapshot with its deltas merged.
   * @param {SyncKind} kind
   * @param {ReplicaRecord} rec
   * @returns {Uint8Array}
   */
  static replay(kind, rec) {
    const scratch = rec.snapshot
      ? SyncSession.restore(kind, rec.snapshot, { replicaId: rec.replicaId, incarnation: rec.incarnation + 1n })
      : new SyncSession(kind, { replicaId: rec.replicaId });
    try {
      if (rec.snapshot) scratch.endRecovery(); // the stored record is the whole state
      for (const d of rec.deltas) scratch.applyLocalDelta(d);
      return scratch.persist();
    } finally {
      scratch.free();
    }
  }

  /** The session (for stats and advanced use). */
  get session() {
    return this.#session;
  }

  /** The live replica: edit it, read it, subscribe to it. */
  get replica() {
    return this.#session.replica;
  }

  /** The CRDT type. */
  get kind() {
    return this.#session.kind;
  }

  /** This replica's id. */
  get replicaId() {
    return this.#session.replicaId;
  }

  /** Whether every change this replica holds is in its store (always true without one). */
  get persisted() {
    return this.#gen === this.#persistedGen;
  }

  /** The store's failure, if a write failed (the doc then stops sending). */
  get failure() {
    return this.#failed;
  }

  /**
   * Registers a transport (the doc calls its `afterDrain` after each drain).
   * @param {Transport} t
   */
  attach(t) {
    this.#transports.add(t);
    this.#startInterval();
  }

  /**
   * Unregisters a transport and removes its neighbours.
   * @param {Transport} t
   */
  detach(t) {
    this.#transports.delete(t);
    for (const [id, tr] of [...this.#routes]) if (tr === t) this.removeNeighbour(id);
  }

  /**
   * Adds neighbour `id`, reached through `t`.
   * @param {bigint} id
   * @param {Transport} t
   */
  addNeighbour(id, t) {
    this.#routes.set(id, t);
    this.#session.addNeighbour(id);
    this.#tickDue = true;
    this.#schedule();
  }

  /**
   * @param {bigint} id
   * @returns {boolean}
   */
  removeNeighbour(id) {
    this.#routes.delete(id);
    return this.#session.removeNeighbour(id);
  }

  /**
   * Whether `id` is a neighbour.
   * @param {bigint} id
   */
  hasNeighbour(id) {
    return this.#routes.has(id);
  }

  /**
   * Handles a session message from neighbour `from`; throws (changing nothing) on bad bytes.
   * Replies go out once everything is persisted.
   * @param {bigint} from
   * @param {Uint8Array} bytes
   * @returns {boolean} whether the state changed
   */
  receive(from, bytes) {
    const changed = this.#session.handleMessage(from, bytes);
    this.#schedule();
    return changed;
  }

  /**
   * Merges a delta or state from outside the session protocol (a reader's push, an HTTP
   * POST, a stored state); it is sent on to the neighbours like a local edit.
   * @param {Uint8Array} bytes
   * @returns {boolean}
   */
  mergeDelta(bytes) {
    const changed = this.#session.applyLocalDelta(bytes);
    this.#schedule();
    return changed;
  }

  /** A monotone counter of changes (for "has anything changed since"). */
  get generation() {
    return this.#gen;
  }

  /**
   * Resolves once every change made so far is persisted and the messages due have been
   * handed to the transports; rejects if the store failed (the doc then sends nothing more)
   * or the doc is closed.
   * @returns {Promise<void>}
   */
  flush() {
    return new Promise((resolve, reject) => {
      if (this.#failed) return reject(this.#failed);
      if (this.#closed) return reject(new Error('Doc.flush: the doc is closed'));
      this.#idleWaiters.push([resolve, reject]);
      this.#schedule();
    });
  }

  #startInterval() {
    if (this.#interval || this.#closed) return;
    this.#interval = setInterval(() => {
      this.#tickDue = true;
      this.#schedule();
    }, this.#tickMs);
    // Node: a doc alone must not keep the process alive.
    /** @type {any} */ (this.#interval).unref?.();
  }

  #requestTick() {
    const wait = this.#lastTick + this.#minTickMs - Date.now();
    if (wait <= 0) {
      this.#tickDue = true;
      this.#schedule();
    } else if (!this.#tickTimer) {
      this.#tickTimer = setTimeout(() => {
        this.#tickTimer = undefined;
        this.#tickDue = true;
        this.#schedule();
      }, wait);
    }
  }

  #schedule() {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  /** The send loop: persist everything, then (with no await in between) drain. */
  async #run() {
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#failed || this.#closed) return;
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.#persist();
        if (this.#closed) break;
        // From here to the end of the iteration nothing awaits: the state is durable.
        if (this.#tickDue) {
          this.#tickDue = false;
          this.#lastTick = Date.now();
          this.#session.tick();
        }
        for (let t = this.#session.pollTransmit(); t !== undefined; t = this.#session.pollTransmit()) {
          const route = this.#routes.get(t.to);
          if (route) route.send(t.to, t.bytes);
        }
        for (const tr of this.#transports) tr.afterDrain?.();
        this.emit('drained', undefined);
      } while (!this.#closed && (this.#again || this.#gen !== this.#persistedGen));
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const [resolve] of waiters) resolve();
    } catch (e) {
      const failed = e instanceof Error ? e : new Error(String(e));
      this.#failed = failed;
      this.emit('error', failed);
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const [, reject] of waiters) reject(failed);
    } finally {
      this.#running = false;
    }
  }

  async #persist() {
    const store = this.#store;
    if (!store) {
      this.#persistedGen = this.#gen;
      return;
    }
    while (this.#gen !== this.#persistedGen) {
      const gen = this.#gen;
      const version = this.#session.version();
      const delta = this.#session.deltaSince(this.#persistedVersion);
      await store.append(delta);
      this.#persistedVersion = version;
      this.#persistedGen = gen;
      if (store.logBytes() > this.#compactBytes) await this.compact();
    }
  }

  /** Writes the whole state to the store and empties its log. */
  async compact() {
    if (!this.#store) return;
    const gen = this.#gen;
    const version = this.#session.version();
    await this.#store.compact(this.#session.persist());
    if (this.#gen === gen) {
      this.#persistedVersion = version;
      this.#persistedGen = gen;
    }
  }

  /**
   * Stops the doc: persists what is pending (and compacts) then frees the session.
   * @param {{ compact?: boolean }} [options]
   */
  async close(options = {}) {
    if (this.#closed) return;
    if (!this.#failed) {
      await this.flush().catch(() => {});
      if (options.compact && this.#store && !this.#failed) await this.compact();
    }
    this.#closed = true;
    clearInterval(this.#interval);
    clearTimeout(this.#tickTimer);
    this.#session.free();
  }

  /** Whether {@link close} was called. */
  get closed() {
    return this.#closed;
  }
}
