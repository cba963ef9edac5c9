// @ts-check
/**
 * {@link BroadcastChannelProvider}: syncs a {@link Doc} with the docs of the same channel in
 * other tabs (or workers) of one browser, each doc a neighbour of the others. It runs beside
 * a {@link import('./websocket.js').WebSocketProvider}: tabs converge with each other even
 * while offline.
 * @module
 */
import { Emitter } from './emitter.js';

/**
 * @typedef {{ t: 'hello' | 'welcome' | 'bye', from: string } | { t: 'sync', from: string, to: string, bytes: Uint8Array }} BcMessage
 */

/**
 * @typedef {object} BroadcastEvents
 * @property {bigint} peer  a tab joined
 * @property {bigint} gone  a tab left
 */

/** @extends {Emitter<BroadcastEvents>} */
export class BroadcastChannelProvider extends Emitter {
  #doc;
  /** @type {InstanceType<typeof BroadcastChannel>} */
  #ch;
  /** @type {import('./doc.js').Transport} */
  #transport;
  #me;
  #closed = false;
  /** @type {(() => void) | undefined} */
  #onHide;

  /**
   * @param {string} name  the channel (e.g. the room name)
   * @param {import('./doc.js').Doc} doc
   */
  constructor(name, doc) {
    super();
    this.#doc = doc;
    this.#me = doc.replicaId.toString();
    this.#ch = new BroadcastChannel(`deltacrdt:${name}`);
    this.#transport = {
      send: (to, bytes) => this.#post({ t: 'sync', from: this.#me, to: to.toString(), bytes }),
    };
    doc.attach(this.#transport);
    this.#ch.onmessage = (/** @type {unknown} */ ev) => this.#onMessage(/** @type {BcMessage} */ (/** @type {{ data: unknown }} */ (ev).data));
    this.#post({ t: 'hello', from: this.#me });
    const g = /** @type {any} */ (globalThis);
    if (typeof g.addEventListener === 'function') {
      this.#onHide = () => this.destroy();
      g.addEventListener('pagehide', this.#onHide);
    }
  }

  /** The other tabs' replica ids. */
  peers() {
    return this.#doc.session.neighbours().filter((id) => this.#doc.hasNeighbour(id));
  }

  /** @param {BcMessage} m */
  #post(m) {
    if (!this.#closed) this.#ch.postMessage(m);
  }

  /** @param {BcMessage} m */
  #onMessage(m) {
    if (this.#closed || !m || typeof m !== 'object' || typeof m.from !== 'string') return;
    let from;
    try {
      from = BigInt(m.from);
    } catch {
      return;
    }
    if (from === this.#doc.replicaId) return;
    if (m.t === 'hello' || m.t === 'welcome') {
      if (!this.#doc.hasNeighbour(from)) {
        this.#doc.addNeighbour(from, this.#transport);
        this.emit('peer', from);
      }
      if (m.t === 'hello') this.#post({ t: 'welcome', from: this.#me });
    } else if (m.t === 'bye') {
      if (this.#doc.removeNeighbour(from)) this.emit('gone', from);
    } else if (m.t === 'sync' && m.to === this.#me && m.bytes instanceof Uint8Array) {
      if (!this.#doc.hasNeighbour(from)) this.#doc.addNeighbour(from, this.#transport);
      try {
        this.#doc.receive(from, m.bytes);
      } catch {
        // A refused message changes nothing; the session counts it.
      }
    }
  }

  /** Leaves the channel. */
  destroy() {
    if (this.#closed) return;
    this.#post({ t: 'bye', from: this.#me });
    this.#closed = true;
    this.#doc.detach(this.#transport);
    this.#ch.close();
    const g = /** @type {any} */ (globalThis);
    if (this.#onHide) g.removeEventListener?.('pagehide', this.#onHide);
  }
}
