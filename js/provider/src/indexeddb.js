// @ts-check
/**
 * {@link IndexedDBStorage}: the storage-adapter interface on IndexedDB, for browsers. One
 * database holds every room: object store `meta` (one record per room) and `log` (the room's
 * snapshot at key `[room, 0]` and its deltas at `[room, 1..]`). Each `append` is one
 * transaction, committed (`durability: 'strict'`) before it resolves, so a doc sends nothing
 * its tab has not saved.
 *
 * Two tabs must not run one stored replica at once (one replica id, two live replicas): a
 * doc opened with {@link openIndexedDBDoc} takes a Web Lock on its room; a second tab gets
 * `undefined` from `tryLock` and should use a memory-only doc (synced through the
 * `BroadcastChannelProvider` and the server).
 * @module
 */
import { Doc } from './doc.js';

/**
 * @param {IDBRequest<any>} req
 * @returns {Promise<any>}
 */
function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * @param {IDBTransaction} tx
 * @returns {Promise<void>}
 */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** A {@link import('./doc.js').Storage} on IndexedDB. */
export class IndexedDBStorage {
  /** @type {Promise<IDBDatabase>} */
  #db;

  /** @param {string} [name]  the database name; default `deltacrdt` */
  constructor(name = 'deltacrdt') {
    this.#db = new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore('meta');
        db.createObjectStore('log');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  /**
   * @param {string} room
   * @returns {IndexedDBReplicaStore}
   */
  room(room) {
    return new IndexedDBReplicaStore(this.#db, room);
  }

  /** Closes the database. */
  async close() {
    (await this.#db).close();
  }
}

/** A {@link import('./doc.js').ReplicaStore} of one room on IndexedDB. */
export class IndexedDBReplicaStore {
  #db;
  #room;
  #next = 1;
  #bytes = 0;

  /**
   * @param {Promise<IDBDatabase>} db
   * @param {string} room
   */
  constructor(db, room) {
    this.#db = db;
    this.#room = room;
  }

  /**
   * @param {'readonly' | 'readwrite'} mode
   * @returns {Promise<IDBTransaction>}
   */
  async #tx(mode) {
    const db = await this.#db;
    return db.transaction(['meta', 'log'], mode, { durability: 'strict' });
  }

  /** @returns {Promise<import('./doc.js').ReplicaRecord | undefined>} */
  async load() {
    const tx = await this.#tx('readonly');
    const meta = await done(tx.objectStore('meta').get(this.#room));
    if (!meta) return undefined;
    const range = IDBKeyRange.bound([this.#room, 0], [this.#room, Number.MAX_SAFE_INTEGER]);
    const keys = /** @type {Array<[string, number]>} */ (await done(tx.objectStore('log').getAllKeys(range)));
    const values = /** @type {Uint8Array[]} */ (await done(tx.objectStore('log').getAll(range)));
    /** @type {Uint8Array | undefined} */
    let snapshot;
    /** @type {Uint8Array[]} */
    const deltas = [];
    keys.forEach((k, i) => {
      const v = values[i];
      if (!v) return;
      if (k[1] === 0) snapshot = v;
      else {
        deltas.push(v);
        this.#bytes += v.length;
      }
      this.#next = Math.max(this.#next, k[1] + 1);
    });
    return {
      kind: meta.kind,
      replicaId: BigInt(meta.replicaId),
      incarnation: BigInt(meta.incarnation),
      snapshot,
      deltas,
    };
  }

  /** @param {import('./doc.js').ReplicaMeta} meta */
  async saveMeta(meta) {
    const tx = await this.#tx('readwrite');
    tx.objectStore('meta').put(
      { kind: meta.kind, replicaId: meta.replicaId.toString(), incarnation: meta.incarnation.toString() },
      this.#room,
    );
    await committed(tx);
  }

  /** @param {Uint8Array} delta */
  async append(delta) {
    const tx = await this.#tx('readwrite');
    tx.objectStore('log').put(delta, [this.#room, this.#next++]);
    await committed(tx);
    this.#bytes += delta.length;
  }

  /** @param {Uint8Array} state */
  async compact(state) {
    const tx = await this.#tx('readwrite');
    const log = tx.objectStore('log');
    log.delete(IDBKeyRange.bound([this.#room, 1], [this.#room, Number.MAX_SAFE_INTEGER]));
    log.put(state, [this.#room, 0]);
    await committed(tx);
    this.#bytes = 0;
  }

  logBytes() {
    return this.#bytes;
  }
}

/**
 * Opens the doc of `room` from IndexedDB, holding a Web Lock on it for the life of the page
 * (when the Web Locks API exists). Resolves with `undefined` if another tab holds it.
 * @template {import('deltacrdt/sync').SyncKind} K
 * @param {IndexedDBStorage} storage
 * @param {string} room
 * @param {K} kind
 * @param {Omit<import('./doc.js').DocOptions, 'store'>} [options]
 * @returns {Promise<Doc<K> | undefined>}
 */
export async function openIndexedDBDoc(storage, room, kind, options = {}) {
  const locks = /** @type {any} */ (globalThis.navigator)?.locks;
  if (locks) {
    const got = await new Promise((resolve) => {
      locks.request(`deltacrdt:${room}`, { ifAvailable: true }, (/** @type {unknown} */ lock) => {
        resolve(lock !== null);
        // Held until the page goes away.
        return lock ? new Promise(() => {}) : undefined;
      });
    });
    if (!got) return undefined;
  }
  return Doc.open(kind, { ...options, store: storage.room(room) });
}
