/// <reference lib="esnext.disposable" preserve="true" />
/**
 * The JS API: one class per CRDT, each a thin wrapper around the one wasm class
 * (`WasmReplica`, which holds a state of any kind, on its own or as a session's state).
 *
 * Every class: an optional replica id in the constructor (random 64 bits when omitted);
 * mutators that also collect their deltas into a pending delta group ({@link takeDelta});
 * `merge(bytes, origin?)` for deltas and full states; `version()`/`deltaSince(version)` for
 * catch-up; `toBytes()`/`fromBytes()`; subscriptions that return their unsubscribe function;
 * `free()` and `[Symbol.dispose]`, with a FinalizationRegistry (in the wasm glue) as a safety
 * net. Listeners run after the wasm call has returned, so they may use the object freely.
 * @module
 */
import { WasmReplica } from './wasm/deltacrdt_wasm.js';
import { assertReady } from './ready.js';
import { guarded, rethrow } from './errors.js';
import { decodeValues, encodeManyScratch, encodeScratch, type Value } from './value.js';

export type { Value } from './value.js';
export { MAX_DEPTH, decodeValue, encodeValue } from './value.js';
export { DeltaCrdtError, setErrorHandler, type DeltaCrdtErrorCode } from './errors.js';

// Node 18.18+/20.4+ and recent browsers define Symbol.dispose; give older runtimes the
// registered symbol TypeScript's `using` downlevel also falls back to.
if (typeof (Symbol as { dispose?: symbol }).dispose !== 'symbol') {
  Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('Symbol.dispose') });
}

/**
 * A replica id: an integer in `[0, 2^64)`, as a `bigint` or a non-negative safe integer.
 * Two live replicas must never share one.
 */
export type ReplicaId = bigint | number;

/** What a change listener learns. */
export interface ChangeEvent {
  /** `true` for a mutation made through this object, `false` for a `merge`. */
  readonly local: boolean;
  /** The `origin` passed to `merge` (`undefined` when none was given, and for local changes). */
  readonly origin: unknown;
}

/** Called after every change of the state, local or merged. */
export type ChangeListener = (event: ChangeEvent) => void;

/** Called after every local mutation with its delta (ready to send to other replicas). */
export type DeltaListener = (delta: Uint8Array) => void;

const U64_LIMIT = 1n << 64n;

function replicaId(id: ReplicaId | undefined, where: string): bigint {
  if (id === undefined) {
    const words = new BigUint64Array(1);
    globalThis.crypto.getRandomValues(words);
    return words[0]!;
  }
  return uint64(id, where, 'replica id');
}

function uint64(n: unknown, where: string, what: string): bigint {
  if (typeof n === 'bigint') {
    if (n >= 0n && n < U64_LIMIT) return n;
    throw new RangeError(`${where}: ${what} ${n} is out of range (0 to 2^64 - 1)`);
  }
  if (typeof n === 'number') {
    if (Number.isSafeInteger(n) && n >= 0) return BigInt(n);
    throw new RangeError(`${where}: ${what} ${n} must be a non-negative safe integer or a bigint`);
  }
  throw new TypeError(`${where}: ${what} must be a number or a bigint, got ${typeof n}`);
}

function bytesArg(b: unknown, where: string): Uint8Array {
  if (b instanceof Uint8Array) return b;
  throw new TypeError(`${where}: expected a Uint8Array, got ${b === null ? 'null' : typeof b}`);
}



/** The kinds of replica, by class name (the keys of {@link KINDS}). */
export type Kind = keyof typeof KINDS;

/** Set by `adopt` so the constructor takes an existing wasm object instead of making one. */
let adopting: WasmReplica | undefined;

/**
 * What the classes share. Exported for `instanceof` and for types; create the concrete
 * classes.
 */
export abstract class Replica implements Disposable {
  #w: WasmReplica | undefined;
  #onChange: ChangeListener[] = [];
  #onLocalDelta: DeltaListener[] = [];
  /** Cached decoded reads; dropped at every change. @internal */
  protected cache: unknown = undefined;
  /** Whether {@link flush} has work (counters gather increments in JS). @internal */
  protected dirty = false;
  /** The class name, for messages. @internal */
  protected readonly typeName: Kind;

  /** @internal */
  protected constructor(typeName: Kind, replica: ReplicaId | undefined) {
    this.typeName = typeName;
    assertReady(typeName);
    if (adopting) {
      this.#w = adopting;
      adopting = undefined;
    } else {
      const id = replicaId(replica, typeName);
      try {
        this.#w = new WasmReplica(typeName, id);
      } catch (e) {
        rethrow(typeName, e);
      }
    }
  }

  /** Builds an instance through `make` around an existing wasm object. @internal */
  static adopt<T>(make: () => T, w: WasmReplica): T {
    adopting = w;
    try {
      return make();
    } finally {
      adopting = undefined;
    }
  }

  /** Decodes a state of `kind`, for the `fromBytes` of each class. @internal */
  protected static decoded(kind: Kind, bytes: unknown, replica: ReplicaId | undefined): WasmReplica {
    const where = `${kind}.fromBytes`;
    assertReady(where);
    const b = bytesArg(bytes, where);
    const id = replicaId(replica, where);
    try {
      return WasmReplica.fromBytes(kind, b, id);
    } catch (e) {
      rethrow(where, e);
    }
  }

  /** The wasm object, with what JS gathered flushed into it; throws once freed. @internal */
  protected get w(): WasmReplica {
    const w = this.#w;
    if (w === undefined) throw new Error(`${this.typeName}: used after free()`);
    if (this.dirty) {
      this.dirty = false;
      this.flush(w);
    }
    return w;
  }

  /** Throws once freed, without flushing. @internal */
  protected alive(): void {
    if (this.#w === undefined) throw new Error(`${this.typeName}: used after free()`);
  }

  /** Hands what JS gathered to the wasm object. @internal */
  protected flush(w: WasmReplica): void {
    void w;
  }

  /** Runs a wasm call, turning errors into `DeltaCrdtError`s naming `Type.method`. @internal */
  protected call<R>(method: string, f: (w: WasmReplica) => R): R {
    const w = this.w;
    try {
      return f(w);
    } catch (e) {
      rethrow(`${this.typeName}.${method}`, e);
    }
  }

  /** Whether a local-delta listener wants each mutation's delta. @internal */
  protected get keepDelta(): boolean {
    return this.#onLocalDelta.length > 0;
  }

  /** After a local mutation returned: hand out its delta, then tell change listeners. @internal */
  protected afterLocal(changed: boolean): void {
    if (!changed) return;
    this.cache = undefined;
    if (this.#onLocalDelta.length > 0) {
      const delta = this.w.takeLastDelta();
      if (delta) for (const l of this.#onLocalDelta.slice()) guarded(l, delta);
    }
    this.emitLocal();
  }

  /** Tells change listeners of a local change. @internal */
  protected emitLocal(): void {
    if (this.#onChange.length > 0) this.#emit({ local: true, origin: undefined });
  }

  /**
   * After the state changed by a merge or a session message: drops cached reads and tells
   * change listeners. @internal
   */
  changedBy(origin: unknown, local = false): void {
    this.cache = undefined;
    this.#emit({ local, origin });
  }

  /** The wasm object, for the session holding this replica. @internal */
  get wasm(): WasmReplica {
    return this.w;
  }

  #emit(event: ChangeEvent): void {
    for (const l of this.#onChange.slice()) guarded(l, event);
  }

  /** The current wall clock in ms (LWWRegister only). @internal */
  protected wallMs(): number {
    return 0;
  }

  /** This replica's id. */
  get replica(): bigint {
    return this.w.replica();
  }

  /**
   * Applies a delta or a full state of this type (from any replica, in any order, any number
   * of times); returns whether anything changed. Bytes of another type, or damaged bytes,
   * throw a {@link DeltaCrdtError} and change nothing. `origin` is passed to change listeners
   * (e.g. the peer it came from, so a relay does not echo it back). On a session's replica
   * the session sends what it learns on to its neighbours.
   */
  merge(bytes: Uint8Array, origin?: unknown): boolean {
    const b = bytesArg(bytes, `${this.typeName}.merge`);
    const changed = this.call('merge', (w) => w.merge(b, this.wallMs()));
    if (changed) this.changedBy(origin);
    return changed;
  }

  /** A compact summary of what this replica has seen, for a peer's {@link deltaSince}. */
  version(): Uint8Array {
    return this.w.version();
  }

  /** The smallest delta that brings the holder of `version` up to date with this replica. */
  deltaSince(version: Uint8Array): Uint8Array {
    const v = bytesArg(version, `${this.typeName}.deltaSince`);
    return this.call('deltaSince', (w) => w.deltaSince(v));
  }

  /** The full state. */
  toBytes(): Uint8Array {
    return this.w.toBytes();
  }

  /**
   * The local changes since the last call, as one delta group (one message however many
   * changes), or `undefined` if there were none. A session's replica has none: its session
   * sends them.
   */
  takeDelta(): Uint8Array | undefined {
    return this.w.takeDelta();
  }

  /** Whether local changes wait for {@link takeDelta}. */
  get hasPendingDelta(): boolean {
    return this.w.hasPendingDelta();
  }

  /** Calls `listener` after every change (local or merged); returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    return subscribe(this.#onChange, listener);
  }

  /**
   * Calls `listener` with the delta of every local mutation; returns the unsubscribe function.
   * The deltas also stay in the pending group of {@link takeDelta}: use one or the other.
   */
  onLocalDelta(listener: DeltaListener): () => void {
    // Hands over what JS gathered: from now on each mutation has its own delta.
    this.alive();
    this.dirty = true;
    void this.w;
    return subscribe(this.#onLocalDelta, listener);
  }

  /** Releases the wasm memory now. Using the object afterwards throws. Idempotent. */
  free(): void {
    const w = this.#w;
    if (w === undefined) return;
    this.dirty = false;
    this.#w = undefined;
    this.#onChange = [];
    this.#onLocalDelta = [];
    w.free();
  }

  /** Same as {@link free}, for `using`. */
  [Symbol.dispose](): void {
    this.free();
  }
}

function subscribe<L>(list: L[], listener: L): () => void {
  if (typeof listener !== 'function') throw new TypeError('listener must be a function');
  list.push(listener);
  return () => {
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Reads the 16 little-endian two's-complement bytes of a 128-bit counter value. */
function int128(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return BigInt.asIntN(128, v);
}

function checkedAmount(n: number | bigint, where: string): bigint {
  return uint64(n, where, 'amount');
}

/**
 * The counters' fast path: increments of safe integers are gathered in JS and handed to the
 * wasm object as one delta before anything else touches it (a read, a merge, a session call),
 * within the room the replica's own entry has left, so no error is deferred. With a
 * local-delta listener every increment is its own delta.
 */
/** The largest small integer of V8 on every platform, 2^30 - 1. */
const SMALL_INT = 0x3fff_ffff;

abstract class Counter extends Replica {
  /** Increments and decrements gathered in JS, not yet in the wasm object. */
  #inc = 0;
  #dec = 0;
  /**
   * How much more may be gathered: the room the replica's own entry has left (capped at
   * 2^53 - 1) minus what is gathered; 0 while unknown, freed, or a local-delta listener wants
   * every increment's own delta.
   */
  #incLeft = 0;
  #decLeft = 0;

  /** Adds `n` to the increments (or, `dec`, the decrements). @internal */
  protected count(n: number | bigint, dec: boolean, method: string): void {
    // The fast path: a whole number within the room left.
    if (typeof n === 'number' && n >= 1 && n <= (dec ? this.#decLeft : this.#incLeft) && Number.isInteger(n)) {
      if (dec) {
        this.#dec += n;
        this.#decLeft -= n;
      } else {
        this.#inc += n;
        this.#incLeft -= n;
      }
      this.dirty = true;
      this.cache = undefined;
      this.emitLocal();
      return;
    }
    if (typeof n === 'number' && n >= 1 && Number.isSafeInteger(n) && !this.keepDelta) {
      // Learn the room left (flushing first), then take the fast path if it fits. Capped at
      // 2^30 - 1 so that the fields stay small integers for the JIT; past it, a flush.
      const room = Math.min(this.w.room(dec), SMALL_INT);
      if (dec) this.#decLeft = room;
      else this.#incLeft = room;
      if (n <= room) {
        this.count(n, dec, method);
        return;
      }
    }
    const amount = checkedAmount(n, `${this.typeName}.${method}`);
    const keep = this.keepDelta;
    this.afterLocal(this.call(method, (w) => (dec ? w.dec(amount, keep) : w.inc(amount, keep))));
    this.#incLeft = this.#decLeft = 0;
  }

  /** @internal */
  protected override flush(w: WasmReplica): void {
    const [inc, dec] = [this.#inc, this.#dec];
    this.#inc = this.#dec = 0;
    this.#incLeft = this.#decLeft = 0;
    if (inc > 0) w.inc(BigInt(inc), false);
    if (dec > 0) w.dec(BigInt(dec), false);
  }

  /** @internal */
  override changedBy(origin: unknown, local = false): void {
    this.#incLeft = this.#decLeft = 0;
    super.changedBy(origin, local);
  }

  /** @internal */
  override free(): void {
    this.#inc = this.#dec = 0;
    this.#incLeft = this.#decLeft = 0;
    super.free();
  }

  /** The exact value. */
  get bigValue(): bigint {
    return int128(this.w.valueBytes());
  }
}

/** A grow-only counter. */
export class GCounter extends Counter {
  /** A counter at zero. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('GCounter', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): GCounter {
    return Replica.adopt(() => new GCounter(), Replica.decoded('GCounter', bytes, replica));
  }

  /** Adds `n` (default 1) on behalf of this replica. */
  inc(n: number | bigint = 1): void {
    this.count(n, false, 'inc');
  }

  /** The value (exact up to 2^53; see {@link bigValue}). */
  get value(): number {
    return Number(this.bigValue);
  }
}

/** A counter that goes up and down. */
export class PNCounter extends Counter {
  /** A counter at zero. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('PNCounter', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): PNCounter {
    return Replica.adopt(() => new PNCounter(), Replica.decoded('PNCounter', bytes, replica));
  }

  /** Adds `n` (default 1). */
  inc(n: number | bigint = 1): void {
    this.count(n, false, 'inc');
  }

  /** Subtracts `n` (default 1). */
  dec(n: number | bigint = 1): void {
    this.count(n, true, 'dec');
  }

  /** Adds a signed amount: positive increments, negative decrements. */
  add(n: number | bigint): void {
    const negative = typeof n === 'bigint' ? n < 0n : typeof n === 'number' && n < 0;
    // Negating keeps the type (number or bigint) and the checks of `checkedAmount`.
    this.count(negative ? -n : n, negative, 'add');
  }

  /** The value (exact within ±2^53; see {@link bigValue}). */
  get value(): number {
    return Number(this.bigValue);
  }
}

function encodeFor(where: string, element: unknown): Uint8Array {
  try {
    return encodeScratch(element);
  } catch (e) {
    rethrow(where, e);
  }
}

function encodeManyFor(where: string, elements: Iterable<unknown>): Uint8Array {
  if (elements == null || typeof (elements as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${where}: expected an iterable`);
  }
  try {
    return encodeManyScratch(elements);
  } catch (e) {
    rethrow(where, e);
  }
}

/**
 * An add-wins observed-remove set of {@link Value}s. Elements are compared by their canonical
 * encoding: `{a: 1, b: 2}` equals `{b: 2, a: 1}`, `-0` equals `0`, and a `Uint8Array` equals
 * another with the same bytes. `T` narrows the element type for TypeScript; it is not checked
 * on merged data.
 */
export class ORSet<T extends Value = Value> extends Replica implements Iterable<T> {
  /** An empty set. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('ORSet', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(bytes: Uint8Array, replica?: ReplicaId): ORSet<T> {
    return Replica.adopt(() => new ORSet<T>(), Replica.decoded('ORSet', bytes, replica));
  }

  /** Adds `element` (a concurrent remove elsewhere does not cancel it: add wins). */
  add(element: T): void {
    const bytes = encodeFor('ORSet.add', element);
    this.afterLocal(this.call('add', (w) => w.add(bytes, this.keepDelta)));
  }

  /** Adds every element of `elements`, as one delta and one wasm call. All or nothing. */
  addAll(elements: Iterable<T>): void {
    const bytes = encodeManyFor('ORSet.addAll', elements);
    this.afterLocal(this.call('addAll', (w) => w.addAll(bytes, this.keepDelta)));
  }

  /** Removes `element` (the adds this replica has seen); returns whether it was present. */
  remove(element: T): boolean {
    const bytes = encodeFor('ORSet.remove', element);
    const changed = this.call('remove', (w) => w.remove(bytes, this.keepDelta));
    this.afterLocal(changed);
    return changed;
  }

  /** Removes every element of `elements`, as one delta and one wasm call. */
  removeAll(elements: Iterable<T>): void {
    const bytes = encodeManyFor('ORSet.removeAll', elements);
    this.afterLocal(this.call('removeAll', (w) => w.removeAll(bytes, this.keepDelta)));
  }

  /** Removes every element this replica has seen. */
  clear(): void {
    this.afterLocal(this.call('clear', (w) => w.clear(this.keepDelta)));
  }

  /** Whether `element` is in the set. */
  has(element: T): boolean {
    const bytes = encodeFor('ORSet.has', element);
    return this.w.has(bytes);
  }

  /** Number of elements. */
  get size(): number {
    return this.w.size();
  }

  /** The elements, in the canonical order (the same on every replica). A fresh array. */
  values(): T[] {
    this.cache ??= decodeValues(this.w.values());
    return (this.cache as T[]).slice();
  }

  /** Iterates over {@link values}. */
  [Symbol.iterator](): Iterator<T> {
    return this.values()[Symbol.iterator]();
  }
}

/** Options of an {@link LWWRegister}. */
export interface LWWOptions {
  /**
   * How far ahead of the local clock, in ms, a merged write may be stamped; later ones are
   * refused with an error. Default 300000 (5 minutes).
   */
  readonly maxAheadMs?: number;
  /** The wall clock in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * A last-writer-wins register of a {@link Value}. Writes are stamped by a hybrid logical clock
 * fed with `Date.now()`, so a local write always wins over what this replica has seen, even if
 * the wall clock stepped back. Merged writes stamped more than `maxAheadMs` ahead of the local
 * clock are refused, so a peer with a broken clock cannot win every later write.
 */
export class LWWRegister<T extends Value = Value> extends Replica {
  readonly #now: () => number;

  /** An empty register. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId, options: LWWOptions = {}) {
    super('LWWRegister', replica);
    this.#now = options.now ?? Date.now;
    if (options.maxAheadMs !== undefined) this.maxAheadMs = options.maxAheadMs;
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(
    bytes: Uint8Array,
    replica?: ReplicaId,
    options: LWWOptions = {},
  ): LWWRegister<T> {
    const w = Replica.decoded('LWWRegister', bytes, replica);
    return Replica.adopt(() => new LWWRegister<T>(undefined, options), w);
  }

  /** @internal */
  protected override wallMs(): number {
    return this.#now();
  }

  /** Writes `value`. */
  set(value: T): void {
    const bytes = encodeFor('LWWRegister.set', value);
    const now = this.#now();
    this.afterLocal(this.call('set', (w) => w.set(bytes, now, this.keepDelta)));
  }

  /** The current value; `undefined` before any write. */
  get value(): T | undefined {
    this.cache ??= decodeValues(this.w.values());
    return (this.cache as T[])[0];
  }

  /** The wall-clock part (ms since the epoch) of the current write's timestamp. */
  get timestampMs(): number | undefined {
    return this.w.timestampMs();
  }

  /** The replica that made the current write. */
  get writer(): bigint | undefined {
    return this.w.writer();
  }

  /** How far ahead of the local clock (ms) a merged write may be. */
  get maxAheadMs(): number {
    return this.w.maxAheadMs();
  }

  set maxAheadMs(ms: number) {
    if (typeof ms !== 'number') throw new TypeError(`LWWRegister.maxAheadMs: expected a number, got ${typeof ms}`);
    this.call('maxAheadMs', (w) => w.setMaxAheadMs(ms));
  }
}

/** One concurrent value of an {@link MVRegister} and the write (dot) that made it. */
export interface Sibling<T extends Value = Value> {
  /** The value written. */
  readonly value: T;
  /** The replica that wrote it. */
  readonly replica: bigint;
  /** That replica's event number for the write. */
  readonly seq: bigint;
}

/**
 * A multi-value register: concurrent writes are all kept as siblings until a write that has
 * seen them replaces them. Read the siblings, decide, write the result.
 */
export class MVRegister<T extends Value = Value> extends Replica {
  /** An empty register. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('MVRegister', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(bytes: Uint8Array, replica?: ReplicaId): MVRegister<T> {
    return Replica.adopt(() => new MVRegister<T>(), Replica.decoded('MVRegister', bytes, replica));
  }

  /** Writes `value`, replacing every sibling this replica has seen. */
  set(value: T): void {
    const bytes = encodeFor('MVRegister.set', value);
    this.afterLocal(this.call('set', (w) => w.set(bytes, 0, this.keepDelta)));
  }

  /** Removes every sibling this replica has seen. */
  clear(): void {
    this.afterLocal(this.call('clear', (w) => w.clear(this.keepDelta)));
  }

  /** The concurrent values, in the order of their writes' dots (the same on every replica). */
  values(): T[] {
    this.cache ??= decodeValues(this.w.values());
    return (this.cache as T[]).slice();
  }

  /** The concurrent values with the writes that made them. */
  siblings(): Sibling<T>[] {
    const values = this.values();
    const dots = this.w.dots();
    return values.map((value, i) => ({ value, replica: dots[2 * i]!, seq: dots[2 * i + 1]! }));
  }

  /** Number of siblings. */
  get size(): number {
    return this.w.size();
  }

  /** Whether concurrent writes are waiting to be resolved (more than one sibling). */
  get isConflicted(): boolean {
    return this.w.size() > 1;
  }
}

/**
 * The replica class of each kind: the JS side's one list of kinds (the wasm side's is the
 * `kinds!` list in `bindings/wasm/src/kinds.rs`; its `WasmReplica` refuses a name it lacks).
 * `SyncSession`, `Kind` and `SyncKind` are derived from it.
 */
export const KINDS = { GCounter, PNCounter, ORSet, LWWRegister, MVRegister } as const;
