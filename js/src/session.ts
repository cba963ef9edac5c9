/**
 * {@link SyncSession}: the core's sans-IO anti-entropy session (delta buffer with
 * acknowledgements, BP and RR, digest catch-up) for one replica, bytes in, bytes out.
 *
 * The session keeps a live replica object of its type ({@link SyncSession.replica}): mutate it
 * and the session picks up each change, read it to see the merged state, subscribe to it for
 * changes (remote changes carry the neighbour's id as their `origin`).
 * @module
 */
import { WasmSyncConfig, WasmSyncSession } from './wasm/deltacrdt_wasm.js';
import { assertReady } from './ready.js';
import { GCounter, LWWRegister, MVRegister, ORSet, PNCounter, type ChangeEvent, type ReplicaId } from './core.js';

/** The CRDT types a {@link SyncSession} can hold. */
export type SyncKind = 'GCounter' | 'PNCounter' | 'ORSet' | 'LWWRegister' | 'MVRegister';

/** The replica class of each {@link SyncKind}. */
export interface SyncReplicas {
  /** A grow-only counter. */
  GCounter: GCounter;
  /** A counter that goes up and down. */
  PNCounter: PNCounter;
  /** An add-wins observed-remove set. */
  ORSet: ORSet;
  /** A last-writer-wins register. */
  LWWRegister: LWWRegister;
  /** A multi-value register. */
  MVRegister: MVRegister;
}

/**
 * The synchronization algorithm: `bp-rr` (the default: delta intervals, never sending a delta
 * back where it came from, buffering only what was new), `classic-delta`, `bp`, `rr`,
 * `full-state` (the whole state every tick) or `digest` (no buffer; digest and reply every tick).
 */
export type SyncStrategy = 'full-state' | 'classic-delta' | 'bp' | 'rr' | 'bp-rr' | 'digest';

/** Options of a {@link SyncSession}. */
export interface SyncOptions {
  /** This replica's id; a random 64-bit id when omitted. Never share one between live replicas. */
  readonly replicaId?: ReplicaId;
  /**
   * This run's incarnation: must grow across restarts (a restart counter saved with the
   * state, or the start time). Default 1; {@link SyncSession.restore} requires it.
   */
  readonly incarnation?: ReplicaId;
  /** The algorithm; default `bp-rr`. */
  readonly strategy?: SyncStrategy;
  /** The most encoded bytes the delta buffer may hold (default 1 MiB); past it, catch-up. */
  readonly maxBufferBytes?: number;
  /** The most deltas the buffer may hold (default 4096); past it, catch-up. */
  readonly maxBufferDeltas?: number;
  /** Ticks to wait for an acknowledgement before sending again (default 3). */
  readonly retransmitTicks?: number;
  /** LWWRegister only: how far ahead of the local clock (ms) a received write may be (default 5 min). */
  readonly maxAheadMs?: number;
  /** LWWRegister only: the wall clock in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** A message to deliver: pass `bytes` to the `handleMessage(from, bytes)` of replica `to`. */
export interface Transmit {
  /** The neighbour to send to. */
  readonly to: bigint;
  /** The message. */
  readonly bytes: Uint8Array;
}

/** What a session knows about one neighbour. Counts are exact up to 2^53. */
export interface NeighbourSyncStats {
  /** The neighbour's replica id. */
  readonly id: bigint;
  /** Messages sent to it. */
  readonly messagesSent: number;
  /** Bytes sent to it. */
  readonly bytesSent: number;
  /** Payload units sent to it (counter entries, dots, register writes). */
  readonly unitsSent: number;
  /** Well-formed messages received from it. */
  readonly messagesReceived: number;
  /** Bytes of well-formed messages received from it. */
  readonly bytesReceived: number;
  /** Payload units received from it. */
  readonly unitsReceived: number;
  /** Catch-up deltas sent in answer to its digests. */
  readonly catchUpsSent: number;
  /** The end of its last acknowledged buffer interval; `undefined` while unknown (catch-up). */
  readonly acked: number | undefined;
  /** What it still lacks of this replica's state, in payload units; `undefined` while unknown. */
  readonly lacking: number | undefined;
  /** How many buffered deltas it has not acknowledged; `undefined` while unknown. */
  readonly unacked: number | undefined;
  /** Messages from it that `handleMessage` refused. */
  readonly refused: number;
  /**
   * Of those, deltas holding a dot this replica holds with other contents: it and this replica
   * issued events under one replica id (see the README's "Replica ids"). Nonzero means data
   * would have been lost; fix the ids.
   */
  readonly dotCollisions: number;
  /**
   * Of those, deltas claiming events of this replica it never issued: forged, or this replica's
   * id is shared, or it restarted without its state.
   */
  readonly unissuedClaims: number;
  /** Of those, deltas refused for their values (not JS values, or LWW writes too far ahead). */
  readonly valueRefusals: number;
}

/** A snapshot of a session's counters, as plain data (for dashboards). */
export interface SyncStats {
  /** Ticks elapsed. */
  readonly ticks: number;
  /** Deltas in the buffer. */
  readonly bufferLength: number;
  /** Encoded bytes of the deltas in the buffer. */
  readonly bufferBytes: number;
  /** Messages `handleMessage` refused. */
  readonly rejected: number;
  /**
   * Whether this restored session is still learning its own latest events back from its
   * neighbours (until each has answered once).
   */
  readonly recovering: boolean;
  /** One entry per neighbour, ascending by id. */
  readonly neighbours: NeighbourSyncStats[];
}

const U64_LIMIT = 1n << 64n;
const STRATEGIES: readonly string[] = ['full-state', 'classic-delta', 'bp', 'rr', 'bp-rr', 'digest'];
const KINDS: readonly string[] = ['GCounter', 'PNCounter', 'ORSet', 'LWWRegister', 'MVRegister'];

function u64(n: unknown, where: string, what: string): bigint {
  if (typeof n === 'bigint' && n >= 0n && n < U64_LIMIT) return n;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return BigInt(n);
  throw new RangeError(`${where}: ${what} must be an integer from 0 to 2^64 - 1 (a bigint or a safe integer)`);
}

function randomId(): bigint {
  const words = new BigUint64Array(1);
  globalThis.crypto.getRandomValues(words);
  return words[0]!;
}

/** 0 (the default) when omitted; else a whole number from 1 to 2^32 - 1. */
function limit(n: number | undefined, where: string, what: string): number {
  if (n === undefined) return 0;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 0xffff_ffff) return n;
  throw new RangeError(`${where}: ${what} must be a whole number from 1 to 2^32 - 1`);
}

function bytesArg(b: unknown, where: string): Uint8Array {
  if (b instanceof Uint8Array) return b;
  throw new TypeError(`${where}: expected a Uint8Array, got ${b === null ? 'null' : typeof b}`);
}

function config(options: SyncOptions, where: string): WasmSyncConfig {
  const strategy = options.strategy ?? '';
  if (strategy !== '' && !STRATEGIES.includes(strategy)) {
    throw new RangeError(`${where}: unknown strategy ${String(strategy)} (expected ${STRATEGIES.join(', ')})`);
  }
  const ahead = options.maxAheadMs;
  if (ahead !== undefined && !(typeof ahead === 'number' && Number.isSafeInteger(ahead) && ahead >= 0)) {
    throw new RangeError(`${where}: maxAheadMs must be a whole, non-negative number of milliseconds`);
  }
  return new WasmSyncConfig(
    strategy,
    limit(options.maxBufferBytes, where, 'maxBufferBytes'),
    limit(options.maxBufferDeltas, where, 'maxBufferDeltas'),
    limit(options.retransmitTicks, where, 'retransmitTicks'),
    ahead ?? -1,
  );
}

/** Replaces the wasm side's `SyncSession.method: ` prefix by `SyncSession.method: ` of the caller. */
function rethrow(where: string, e: unknown): never {
  if (e instanceof Error && e.message.startsWith('SyncSession.')) {
    e.message = `${where}: ${e.message.slice(e.message.indexOf(': ') + 2)}`;
  }
  throw e;
}

/** Set by `restore` for the constructor. */
let restoring: { bytes: Uint8Array; where: string } | undefined;

/**
 * One replica's anti-entropy session: give it the messages that arrive
 * ({@link handleMessage}), call {@link tick} periodically, and send what {@link pollTransmit}
 * returns. Every message is idempotent, so lost, duplicated and reordered messages cost
 * traffic, never data. No sockets, no timers: the caller drives it, so any transport works.
 *
 * ```ts
 * const s = new SyncSession('ORSet', { replicaId: 1n });
 * s.addNeighbour(2n);
 * s.replica.add('apple');           // local edits go through the live replica
 * s.tick();
 * for (const t of s.drainTransmits()) send(t.to, t.bytes);
 * // on receipt: s.handleMessage(fromId, bytes); then drain again
 * ```
 */
export class SyncSession<K extends SyncKind = SyncKind> implements Disposable {
  #w: WasmSyncSession | undefined;
  readonly #kind: K;
  readonly #replica: SyncReplicas[K];
  readonly #unsubscribe: () => void;
  readonly #now: () => number;
  /** Set while the session itself merges into the replica. */
  #merging = false;

  /** An empty session of `kind` (or, through {@link restore}, one holding saved bytes). */
  constructor(kind: K, options: SyncOptions = {}) {
    const pending = restoring;
    restoring = undefined;
    const where = pending?.where ?? 'SyncSession';
    assertReady(where);
    if (!KINDS.includes(kind)) {
      throw new TypeError(`${where}: unknown CRDT type ${String(kind)} (expected ${KINDS.join(', ')})`);
    }
    const id = options.replicaId === undefined ? randomId() : u64(options.replicaId, where, 'replicaId');
    const incarnation = options.incarnation === undefined ? 1n : u64(options.incarnation, where, 'incarnation');
    this.#now = options.now ?? Date.now;
    const cfg = config(options, where);
    try {
      this.#w = pending
        ? WasmSyncSession.restore(kind, id, incarnation, bytesArg(pending.bytes, where), cfg)
        : new WasmSyncSession(kind, id, incarnation, cfg);
    } catch (e) {
      rethrow(where, e);
    } finally {
      cfg.free();
    }
    this.#kind = kind;
    this.#replica = this.#makeReplica(id, options);
    this.#unsubscribe = this.#replica.onChange((e) => this.#onReplicaChange(e));
  }

  /**
   * A session restarted from {@link persist} bytes. `options.incarnation` is required and must
   * be greater than the incarnation of the run that saved them; the neighbours then bring this
   * replica up to date (and it them) by digest catch-up.
   *
   * The bytes may predate the last edits this replica sent (an asynchronous save): until
   * `stats().recovering` is `false` (every neighbour has answered once, about one round trip),
   * the session is still learning this replica's own latest events back, and an edit made
   * meanwhile could reuse one of their dots. Hold local edits until then.
   */
  static restore<K extends SyncKind>(
    kind: K,
    bytes: Uint8Array,
    options: SyncOptions & { readonly incarnation: ReplicaId },
  ): SyncSession<K> {
    if (options === null || typeof options !== 'object' || options.incarnation === undefined) {
      throw new TypeError('SyncSession.restore: options.incarnation is required (greater than the saved run\u2019s)');
    }
    restoring = { bytes, where: 'SyncSession.restore' };
    try {
      return new SyncSession(kind, options);
    } finally {
      restoring = undefined;
    }
  }

  #makeReplica(id: bigint, options: SyncOptions): SyncReplicas[K] {
    const bytes = this.w.stateBytes();
    // The session checked the time bound of what it accepted; bringing the replica up to the
    // session's state must not check again at a later (or, with a clock stepping back, earlier)
    // time, so its clock reads "as late as can be" while the session merges into it.
    const now = (): number => (this.#merging ? Number.MAX_SAFE_INTEGER : this.#now());
    const lww = { now, ...(options.maxAheadMs === undefined ? {} : { maxAheadMs: options.maxAheadMs }) };
    const kind: SyncKind = this.#kind;
    switch (kind) {
      case 'GCounter':
        return GCounter.fromBytes(bytes, id) as SyncReplicas[K];
      case 'PNCounter':
        return PNCounter.fromBytes(bytes, id) as SyncReplicas[K];
      case 'ORSet':
        return ORSet.fromBytes(bytes, id) as SyncReplicas[K];
      case 'LWWRegister':
        return LWWRegister.fromBytes(bytes, id, lww) as SyncReplicas[K];
      case 'MVRegister':
        return MVRegister.fromBytes(bytes, id) as SyncReplicas[K];
    }
  }

  /** Local edits of the replica go into the session; so do merges made on it directly. */
  #onReplicaChange(e: ChangeEvent): void {
    if (this.#merging || this.#w === undefined) return;
    const w = this.#w;
    if (e.local) {
      const delta = this.#replica.takeDelta();
      if (delta) w.applyLocalDelta(delta);
    } else {
      w.applyLocalDelta(this.#replica.deltaSince(w.version()));
    }
  }

  /** Brings the replica up to the session's state; `origin` goes to its change listeners. */
  #refresh(origin: unknown): void {
    const delta = this.w.deltaSince(this.#replica.version());
    this.#merging = true;
    try {
      this.#replica.merge(delta, origin);
    } finally {
      this.#merging = false;
    }
  }

  /** The wasm object; throws once freed. @internal */
  private get w(): WasmSyncSession {
    if (this.#w === undefined) throw new Error('SyncSession: used after free()');
    return this.#w;
  }

  /** The CRDT type. */
  get kind(): K {
    return this.#kind;
  }

  /** This replica's id. */
  get replicaId(): bigint {
    return this.w.replica();
  }

  /** This run's incarnation. */
  get incarnation(): bigint {
    return this.w.incarnation();
  }

  /**
   * The live replica: mutate it (`session.replica.add(x)`) and the session sends the changes;
   * read it for the merged state; `onChange` listeners see remote changes with the neighbour's
   * id as `origin`. Do not free it: {@link free} does.
   */
  get replica(): SyncReplicas[K] {
    void this.w;
    return this.#replica;
  }

  /**
   * Handles a message from neighbour `from`; returns whether the state changed. Malformed,
   * damaged or hostile bytes, or a sender that is not a neighbour, throw an `Error` and change
   * nothing. So does replica-id misuse: a message whose delta holds a dot this replica holds
   * with other contents, or claims events of this replica it never issued, throws an `Error`
   * naming the neighbour and the problem (and is counted in {@link stats}).
   */
  handleMessage(from: ReplicaId, bytes: Uint8Array): boolean {
    const where = 'SyncSession.handleMessage';
    const id = u64(from, where, 'neighbour id');
    const b = bytesArg(bytes, where);
    const w = this.w;
    let changed: boolean;
    try {
      changed = w.handleMessage(id, b, this.#now());
    } catch (e) {
      rethrow(where, e);
    }
    if (changed) this.#refresh(id);
    return changed;
  }

  /** Advances time by one tick and starts a sync round with every neighbour. */
  tick(): void {
    this.w.tick();
  }

  /** The next message to send, or `undefined`. Call until `undefined` after every input and command. */
  pollTransmit(): Transmit | undefined {
    const t = this.w.pollTransmit();
    if (t === undefined) return undefined;
    try {
      return { to: t.to, bytes: t.takeBytes() };
    } finally {
      t.free();
    }
  }

  /** Every message due now (what {@link pollTransmit} returns until `undefined`). */
  drainTransmits(): Transmit[] {
    const out: Transmit[] = [];
    for (let t = this.pollTransmit(); t !== undefined; t = this.pollTransmit()) out.push(t);
    return out;
  }

  /** Adds a neighbour; unless the state is empty it is first brought up to date by catch-up. */
  addNeighbour(id: ReplicaId): void {
    this.w.addNeighbour(u64(id, 'SyncSession.addNeighbour', 'neighbour id'));
  }

  /** Removes a neighbour and what was kept for it; returns whether it was one. */
  removeNeighbour(id: ReplicaId): boolean {
    return this.w.removeNeighbour(u64(id, 'SyncSession.removeNeighbour', 'neighbour id'));
  }

  /** The neighbours, ascending. */
  neighbours(): bigint[] {
    return Array.from(this.w.neighbours());
  }

  /**
   * Applies a delta made by this replica elsewhere (e.g. `takeDelta()` of another local object
   * of the same type) and sends it to the neighbours; returns whether the state changed.
   * Bytes of another type, or damaged bytes, throw and change nothing.
   */
  applyLocalDelta(bytes: Uint8Array): boolean {
    const where = 'SyncSession.applyLocalDelta';
    const b = bytesArg(bytes, where);
    let changed: boolean;
    try {
      changed = this.w.applyLocalDelta(b);
    } catch (e) {
      rethrow(where, e);
    }
    if (changed) this.#refresh(undefined);
    return changed;
  }

  /** The state in the binary format (readable with the type's `fromBytes`). */
  stateBytes(): Uint8Array {
    return this.w.stateBytes();
  }

  /**
   * The bytes to save for a restart (the state; buffers are rebuilt by catch-up). Save after
   * local edits, before their messages leave, and restore with a greater incarnation.
   */
  persist(): Uint8Array {
    return this.w.stateBytes();
  }

  /** A compact summary of what this replica has seen (as the type's `version()`). */
  version(): Uint8Array {
    return this.w.version();
  }

  /** The smallest delta that brings the holder of `version` up to date (as the type's `deltaSince`). */
  deltaSince(version: Uint8Array): Uint8Array {
    const where = 'SyncSession.deltaSince';
    const v = bytesArg(version, where);
    try {
      return this.w.deltaSince(v);
    } catch (e) {
      rethrow(where, e);
    }
  }

  /** Counters of the session and of each neighbour, as plain data. */
  stats(): SyncStats {
    const w = this.w;
    const [ticks = 0n, bufferLength = 0n, bufferBytes = 0n, rejected = 0n, , recovering = 0n] = w.counters();
    const neighbours: NeighbourSyncStats[] = [];
    for (const id of w.neighbours()) {
      const s = w.stats(id);
      if (s === undefined) continue;
      const n = (i: number): number => Number(s[i] ?? 0n);
      const known = n(10);
      neighbours.push({
        id,
        messagesSent: n(0),
        bytesSent: n(1),
        unitsSent: n(2),
        messagesReceived: n(3),
        bytesReceived: n(4),
        unitsReceived: n(5),
        catchUpsSent: n(6),
        acked: known & 1 ? n(7) : undefined,
        lacking: known & 2 ? n(8) : undefined,
        unacked: known & 4 ? n(9) : undefined,
        refused: n(11),
        dotCollisions: n(12),
        unissuedClaims: n(13),
        valueRefusals: n(14),
      });
    }
    return {
      ticks: Number(ticks),
      bufferLength: Number(bufferLength),
      bufferBytes: Number(bufferBytes),
      rejected: Number(rejected),
      recovering: recovering !== 0n,
      neighbours,
    };
  }

  /** Releases the wasm memory of the session and its replica now. Idempotent. */
  free(): void {
    const w = this.#w;
    if (w === undefined) return;
    this.#w = undefined;
    this.#unsubscribe();
    this.#replica.free();
    w.free();
  }

  /** Same as {@link free}, for `using`. */
  [Symbol.dispose](): void {
    this.free();
  }
}
