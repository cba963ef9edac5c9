/**
 * {@link SyncSession}: the core's sans-IO anti-entropy session (delta buffer with
 * acknowledgements, BP and RR, digest catch-up) for one replica, bytes in, bytes out.
 *
 * The session's state is its replica ({@link SyncSession.replica}), one object of the type's
 * class: mutate it and the edit goes through the session, read it to see the merged state,
 * subscribe to it for changes (changes a message brought carry the neighbour's id as their
 * `origin`).
 * @module
 */
import { WasmReplica, WasmSyncConfig } from './wasm/deltacrdt_wasm.js';
import { assertReady } from './ready.js';
import { reportError, rethrow } from './errors.js';
import { KINDS, LWWRegister, Replica, type Kind, type ReplicaId } from './core.js';

/** The CRDT types a {@link SyncSession} can hold: the keys of {@link KINDS}. */
export type SyncKind = Kind;

/** The replica class of each {@link SyncKind}. */
export type SyncReplicas = { [K in SyncKind]: InstanceType<(typeof KINDS)[K]> };

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
  /**
   * Of those, deltas refused by the package's check: of another CRDT type, holding values that
   * are not JS values, or LWW writes too far ahead.
   */
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
  /** Local edits held until recovery ends (see {@link SyncSession.restore}). */
  readonly heldEdits: number;
  /** One entry per neighbour, ascending by id. */
  readonly neighbours: NeighbourSyncStats[];
}

const U64_LIMIT = 1n << 64n;
const STRATEGIES: readonly string[] = ['full-state', 'classic-delta', 'bp', 'rr', 'bp-rr', 'digest'];

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
 * s.replica.add('apple');           // local edits go through the session's replica
 * s.tick();
 * for (const t of s.drainTransmits()) send(t.to, t.bytes);
 * // on receipt: s.handleMessage(fromId, bytes); then drain again
 * ```
 */
export class SyncSession<K extends SyncKind = SyncKind> implements Disposable {
  readonly #kind: K;
  #replica: SyncReplicas[K] | undefined;
  readonly #now: () => number;

  /** An empty session of `kind` (or, through {@link restore}, one holding saved bytes). */
  constructor(kind: K, options: SyncOptions = {}) {
    const pending = restoring;
    restoring = undefined;
    const where = pending?.where ?? 'SyncSession';
    assertReady(where);
    if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) {
      throw new TypeError(`${where}: unknown CRDT type ${String(kind)} (expected ${Object.keys(KINDS).join(', ')})`);
    }
    const id = options.replicaId === undefined ? randomId() : u64(options.replicaId, where, 'replicaId');
    const incarnation = options.incarnation === undefined ? 1n : u64(options.incarnation, where, 'incarnation');
    this.#now = options.now ?? Date.now;
    const cfg = config(options, where);
    let w: WasmReplica;
    try {
      w = pending
        ? WasmReplica.restoreSession(kind, id, incarnation, bytesArg(pending.bytes, where), cfg)
        : WasmReplica.session(kind, id, incarnation, cfg);
    } catch (e) {
      rethrow(where, e);
    } finally {
      cfg.free();
    }
    this.#kind = kind;
    const lww = { now: this.#now, ...(options.maxAheadMs === undefined ? {} : { maxAheadMs: options.maxAheadMs }) };
    const cls = KINDS[kind as SyncKind];
    const make = (): Replica => (cls === LWWRegister ? new LWWRegister(undefined, lww) : new cls());
    this.#replica = Replica.adopt(make, w) as SyncReplicas[K];
  }

  /**
   * A session restarted from {@link persist} bytes. `options.incarnation` is required and must
   * be greater than the incarnation of the run that saved them; the neighbours then bring this
   * replica up to date (and it them) by digest catch-up.
   *
   * The bytes may predate the last edits this replica sent (an asynchronous save): until
   * `stats().recovering` is `false` (every neighbour has answered once, about one round trip),
   * the session is still learning this replica's own latest events back. Local edits made
   * meanwhile (and {@link applyLocalDelta}) are held, in order, and applied as soon as recovery
   * ends, so they can never reuse an event of the lost edits; until then the replica does not
   * show them (`stats().heldEdits` counts them), and a mutator's result (`remove`'s "was it
   * present") is what the edit would do to the state as it is now.
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

  /** The wasm object (with what the replica gathered flushed into it); throws once freed. */
  get #w(): WasmReplica {
    if (this.#replica === undefined) throw new Error('SyncSession: used after free()');
    return this.#replica.wasm;
  }

  /** Runs a wasm call of `method`, turning errors into `DeltaCrdtError`s. */
  #call<R>(method: string, f: (w: WasmReplica) => R): R {
    const w = this.#w;
    try {
      return f(w);
    } catch (e) {
      rethrow(`SyncSession.${method}`, e);
    }
  }

  /** The CRDT type. */
  get kind(): K {
    return this.#kind;
  }

  /** This replica's id. */
  get replicaId(): bigint {
    return this.#w.replica();
  }

  /** This run's incarnation. */
  get incarnation(): bigint {
    return this.#call('incarnation', (w) => w.incarnation());
  }

  /**
   * The session's state, as an object of the type's class (`session.replica instanceof
   * ORSet`): mutate it (`session.replica.add(x)`) and the session sends the changes; read it
   * for the merged state; `onChange` listeners see the changes a message brought with the
   * neighbour's id as `origin`. Do not free it: {@link free} does.
   */
  get replica(): SyncReplicas[K] {
    if (this.#replica === undefined) throw new Error('SyncSession: used after free()');
    return this.#replica;
  }

  /**
   * Handles a message from neighbour `from`; returns whether the state changed. Malformed,
   * damaged or hostile bytes, or a sender that is not a neighbour, throw a `DeltaCrdtError`
   * and change nothing. So does replica-id misuse: a message whose delta holds a dot this
   * replica holds with other contents, or claims events of this replica it never issued,
   * throws naming the neighbour and the problem (and is counted in {@link stats}).
   */
  handleMessage(from: ReplicaId, bytes: Uint8Array): boolean {
    const where = 'SyncSession.handleMessage';
    const id = u64(from, where, 'neighbour id');
    const b = bytesArg(bytes, where);
    const changed = this.#call('handleMessage', (w) => w.handleMessage(id, b, this.#now()));
    if (changed) this.replica.changedBy(id);
    this.#reportFailedEdits();
    return changed;
  }

  /** Held edits that failed when they ran at the end of recovery go to the error handler. */
  #reportFailedEdits(): void {
    const w = this.#w;
    for (let e = w.takeFailedEdit(); e !== undefined; e = w.takeFailedEdit()) {
      try {
        rethrow(`${this.#kind}: a held edit`, e);
      } catch (err) {
        reportError(err);
      }
    }
  }

  /**
   * Ends a restored session's recovery now and applies the edits held meanwhile. Only for a
   * save known to be current: its owner saved every change before any message left (as
   * `deltacrdt-provider` does). Ending recovery on an older save lets an edit reuse an event of
   * the lost ones; the neighbours then refuse it (a dot collision) and the replicas differ.
   */
  endRecovery(): void {
    if (this.#call('endRecovery', (w) => w.endRecovery())) this.replica.changedBy(undefined, true);
    this.#reportFailedEdits();
  }

  /** Advances time by one tick and starts a sync round with every neighbour. */
  tick(): void {
    this.#call('tick', (w) => w.tick());
  }

  /** The next message to send, or `undefined`. Call until `undefined` after every input and command. */
  pollTransmit(): Transmit | undefined {
    const t = this.#call('pollTransmit', (w) => w.pollTransmit());
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
    const n = u64(id, 'SyncSession.addNeighbour', 'neighbour id');
    this.#call('addNeighbour', (w) => w.addNeighbour(n));
  }

  /** Removes a neighbour and what was kept for it; returns whether it was one. */
  removeNeighbour(id: ReplicaId): boolean {
    const n = u64(id, 'SyncSession.removeNeighbour', 'neighbour id');
    return this.#call('removeNeighbour', (w) => w.removeNeighbour(n));
  }

  /** The neighbours, ascending. */
  neighbours(): bigint[] {
    return Array.from(this.#call('neighbours', (w) => w.neighbours()));
  }

  /**
   * Applies a delta made by this replica elsewhere (e.g. `takeDelta()` of another local object
   * of the same type) and sends it to the neighbours; returns whether the state changed (held,
   * like a local edit, while a restored session recovers: then whether it will change it).
   * Bytes of another type, or damaged bytes, throw and change nothing.
   */
  applyLocalDelta(bytes: Uint8Array): boolean {
    const b = bytesArg(bytes, 'SyncSession.applyLocalDelta');
    const changed = this.#call('applyLocalDelta', (w) => w.applyLocalDelta(b));
    if (changed) this.replica.changedBy(undefined, true);
    return changed;
  }

  /** The state in the binary format (readable with the type's `fromBytes`). */
  stateBytes(): Uint8Array {
    return this.#w.toBytes();
  }

  /**
   * The bytes to save for a restart (the state; buffers are rebuilt by catch-up). Save after
   * local edits, before their messages leave, and restore with a greater incarnation.
   */
  persist(): Uint8Array {
    return this.#w.toBytes();
  }

  /** A compact summary of what this replica has seen (as the type's `version()`). */
  version(): Uint8Array {
    return this.#w.version();
  }

  /** The smallest delta that brings the holder of `version` up to date (as the type's `deltaSince`). */
  deltaSince(version: Uint8Array): Uint8Array {
    const v = bytesArg(version, 'SyncSession.deltaSince');
    return this.#call('deltaSince', (w) => w.deltaSince(v));
  }

  /** Counters of the session and of each neighbour, as plain data. */
  stats(): SyncStats {
    const w = this.#w;
    const [ticks = 0n, bufferLength = 0n, bufferBytes = 0n, rejected = 0n, , recovering = 0n, held = 0n] =
      this.#call('stats', (x) => x.counters());
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
      heldEdits: Number(held),
      neighbours,
    };
  }

  /** Releases the wasm memory of the session (and so of its replica) now. Idempotent. */
  free(): void {
    const r = this.#replica;
    this.#replica = undefined;
    r?.free();
  }

  /** Same as {@link free}, for `using`. */
  [Symbol.dispose](): void {
    this.free();
  }
}
