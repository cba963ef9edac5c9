// @ts-check
/**
 * {@link MemoryStorage}: the storage-adapter interface in memory (for tests, and for servers
 * without a data directory). Not durable.
 * @module
 */

/** A {@link import('./doc.js').Storage} in memory. */
export class MemoryStorage {
  /** @type {Map<string, MemoryReplicaStore>} */
  #rooms = new Map();

  /**
   * @param {string} room
   * @returns {MemoryReplicaStore}
   */
  room(room) {
    let s = this.#rooms.get(room);
    if (!s) this.#rooms.set(room, (s = new MemoryReplicaStore()));
    return s;
  }

  /** The rooms held. */
  list() {
    return [...this.#rooms.keys()];
  }
}

/** A {@link import('./doc.js').ReplicaStore} in memory. */
export class MemoryReplicaStore {
  /** @type {import('./doc.js').ReplicaMeta | undefined} */
  meta;
  /** @type {Uint8Array | undefined} */
  snapshot;
  /** @type {Uint8Array[]} */
  deltas = [];
  #bytes = 0;

  /** @returns {Promise<import('./doc.js').ReplicaRecord | undefined>} */
  async load() {
    if (!this.meta) return undefined;
    return { ...this.meta, snapshot: this.snapshot, deltas: [...this.deltas] };
  }

  /** @param {import('./doc.js').ReplicaMeta} meta */
  async saveMeta(meta) {
    this.meta = { ...meta };
  }

  /** @param {Uint8Array} delta */
  async append(delta) {
    this.deltas.push(delta.slice());
    this.#bytes += delta.length;
  }

  /** @param {Uint8Array} state */
  async compact(state) {
    this.snapshot = state.slice();
    this.deltas = [];
    this.#bytes = 0;
  }

  logBytes() {
    return this.#bytes;
  }
}
