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
import { decodeValue, decodeValues, encodeManyScratch, encodeScratch, encodeValue, type Value } from './value.js';

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
  /**
   * {@link ORMap} only: the paths of the values that changed, each a list of names from the
   * map down (`['alice', 'milk']`), in key order, a map after the changes inside it. Absent for other types.
   */
  readonly paths?: readonly (readonly string[])[];
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
    if (this.#onChange.length > 0) this.#emit(this.event(true, undefined));
  }

  /** The event listeners get (ORMap adds the changed paths). @internal */
  protected event(local: boolean, origin: unknown): ChangeEvent {
    return { local, origin };
  }

  /** Whether change listeners are subscribed. @internal */
  protected get listening(): boolean {
    return this.#onChange.length > 0;
  }

  /**
   * After the state changed by a merge or a session message: drops cached reads and tells
   * change listeners. @internal
   */
  changedBy(origin: unknown, local = false): void {
    this.cache = undefined;
    if (this.#onChange.length > 0) this.#emit(this.event(local, origin));
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
  /**
   * The fast path of `add`, as for the counters: the encodings of added elements are gathered
   * in JS and handed to the wasm object as one `addAll` before anything else touches it (a
   * read, a merge, a session call), within the dots the replica has left, so no error is
   * deferred (encoding errors are thrown by `add` itself). With a local-delta listener every
   * add is its own delta.
   */
  #gathered = new Uint8Array(0);
  #gatheredLen = 0;
  /** How many more adds may be gathered; 0 while unknown, freed, or a listener wants deltas. */
  #addLeft = 0;

  /** An empty set. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('ORSet', replica);
  }

  #gather(bytes: Uint8Array): void {
    const end = this.#gatheredLen + bytes.length;
    if (end > this.#gathered.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.#gathered.length, 256));
      grown.set(this.#gathered.subarray(0, this.#gatheredLen));
      this.#gathered = grown;
    }
    this.#gathered.set(bytes, this.#gatheredLen);
    this.#gatheredLen = end;
    this.#addLeft--;
    this.dirty = true;
    this.cache = undefined;
    this.emitLocal();
  }

  /** @internal */
  protected override flush(w: WasmReplica): void {
    const n = this.#gatheredLen;
    this.#gatheredLen = 0;
    this.#addLeft = 0;
    if (n > 0) w.addAll(this.#gathered.subarray(0, n), false);
    // A large batch's buffer is not kept.
    if (this.#gathered.length > 1 << 20) this.#gathered = new Uint8Array(0);
  }

  /** @internal */
  override changedBy(origin: unknown, local = false): void {
    this.#addLeft = 0;
    super.changedBy(origin, local);
  }

  /** @internal */
  override free(): void {
    this.#gatheredLen = 0;
    this.#addLeft = 0;
    this.#gathered = new Uint8Array(0);
    super.free();
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(bytes: Uint8Array, replica?: ReplicaId): ORSet<T> {
    return Replica.adopt(() => new ORSet<T>(), Replica.decoded('ORSet', bytes, replica));
  }

  /** Adds `element` (a concurrent remove elsewhere does not cancel it: add wins). */
  add(element: T): void {
    const bytes = encodeFor('ORSet.add', element);
    if (this.#addLeft > 0) {
      this.#gather(bytes);
      return;
    }
    if (!this.keepDelta) {
      // Learn how many dots are left (flushing first, which leaves the scratch encoding
      // alone), then take the fast path if one is.
      this.#addLeft = Math.min(this.w.room(false), SMALL_INT);
      if (this.#addLeft > 0) {
        this.#gather(bytes);
        return;
      }
    }
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
 * A counter that goes up and down and can live in an {@link ORMap} (`map.counter(name)`):
 * every change is an event, so a remove of its key resets what the remove saw while a
 * concurrent increment survives.
 */
export class CausalCounter extends Counter {
  /** A counter at zero. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('CausalCounter', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): CausalCounter {
    return Replica.adopt(() => new CausalCounter(), Replica.decoded('CausalCounter', bytes, replica));
  }

  /** Adds `n` (default 1). */
  inc(n: number | bigint = 1): void {
    this.count(n, false, 'inc');
  }

  /** Subtracts `n` (default 1). */
  dec(n: number | bigint = 1): void {
    this.count(n, true, 'dec');
  }

  /** The value (exact within ±2^53; see {@link bigValue}). */
  get value(): number {
    return Number(this.bigValue);
  }
}

/** An enable-wins flag: a concurrent enable and disable leave it enabled. */
export class EWFlag extends Replica {
  /** A disabled flag. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('EWFlag', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): EWFlag {
    return Replica.adopt(() => new EWFlag(), Replica.decoded('EWFlag', bytes, replica));
  }

  /** Enables the flag (wins over a concurrent disable). */
  enable(): void {
    this.afterLocal(this.call('enable', (w) => w.enable(this.keepDelta)));
  }

  /** Disables the flag (the enables this replica has seen). */
  disable(): void {
    this.afterLocal(this.call('disable', (w) => w.disable(this.keepDelta)));
  }

  /** Whether the flag is enabled. */
  get value(): boolean {
    return this.w.enabled();
  }
}

/**
 * A counter that never goes below zero: increments give this replica rights, decrements
 * spend them (a decrement beyond this replica's rights throws a `DeltaCrdtError` with code
 * `rights` and changes nothing), and {@link transfer} moves rights to another replica.
 */
export class BoundedCounter extends Replica {
  /** A counter at zero. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('BoundedCounter', replica);
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): BoundedCounter {
    return Replica.adopt(() => new BoundedCounter(), Replica.decoded('BoundedCounter', bytes, replica));
  }

  /** Adds `n` (default 1), and as many rights for this replica. */
  inc(n: number | bigint = 1): void {
    const amount = checkedAmount(n, 'BoundedCounter.inc');
    this.afterLocal(this.call('inc', (w) => w.inc(amount, this.keepDelta)));
  }

  /** Subtracts `n` (default 1), spending this replica's rights. */
  dec(n: number | bigint = 1): void {
    const amount = checkedAmount(n, 'BoundedCounter.dec');
    this.afterLocal(this.call('dec', (w) => w.dec(amount, this.keepDelta)));
  }

  /** Moves `n` of this replica's rights to replica `to`. */
  transfer(to: ReplicaId, n: number | bigint): void {
    const target = uint64(to, 'BoundedCounter.transfer', 'replica id');
    const amount = checkedAmount(n, 'BoundedCounter.transfer');
    this.afterLocal(this.call('transfer', (w) => w.transfer(target, amount, this.keepDelta)));
  }

  /** The value (exact up to 2^53; see {@link bigValue}). */
  get value(): number {
    return Number(this.bigValue);
  }

  /** The exact value. */
  get bigValue(): bigint {
    return int128(this.w.valueBytes());
  }

  /** How much this replica may still decrement or transfer. */
  get rights(): number {
    return Number(int128(this.w.rightsBytes()));
  }
}

/** The kinds of value an {@link ORMap} holds under a name. */
export type MapValueKind = 'map' | 'counter' | 'flag' | 'lww' | 'set' | 'register';

const KIND_BYTE: { readonly [K in MapValueKind]: number } = {
  map: 0x6d,
  counter: 0x63,
  flag: 0x66,
  lww: 0x6c,
  set: 0x73,
  register: 0x72,
};
const KIND_OF: { readonly [c: string]: MapValueKind } = {
  m: 'map',
  c: 'counter',
  f: 'flag',
  l: 'lww',
  s: 'set',
  r: 'register',
};

/** One entry of an {@link ORMap}: a name, the kind of its value, and the value read as JSON. */
export interface MapEntry {
  readonly name: string;
  readonly kind: MapValueKind;
  /** As in {@link MapHandle.toJSON}: a map an object, a counter a number, a flag a boolean, an LWW field its value (`null` before a write), a set or register an array. */
  readonly value: Value;
}

/** A map read as plain JS values (see {@link MapHandle.toJSON}). */
export type MapJSON = { [name: string]: Value };

const utf8 = new TextEncoder();

/** The bytes of a key: the kind byte, then the UTF-8 name. */
function keyBytes(kind: MapValueKind, name: unknown, where: string): Uint8Array {
  if (typeof name !== 'string') throw new TypeError(`${where}: a name must be a string, got ${typeof name}`);
  const b = utf8.encode(name);
  const out = new Uint8Array(b.length + 1);
  out[0] = KIND_BYTE[kind];
  out.set(b, 1);
  return out;
}

type Tree = [string, string, Value][];

function isTree(v: Value): v is Value[] {
  return Array.isArray(v);
}

/** A tree read from wasm as JSON: maps become objects (a name held by two kinds: `name`, then `name:kind`). */
function treeJSON(kind: MapValueKind, v: Value): Value {
  if (kind !== 'map' || !isTree(v)) return v;
  const out: MapJSON = {};
  for (const e of v as Tree) {
    const [k, name, value] = e;
    const kk = KIND_OF[k]!;
    const key = Object.hasOwn(out, name) ? `${name}:${kk}` : name;
    out[key] = treeJSON(kk, value);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The paths that differ between two map trees, deepest first. */
function diffTrees(a: Tree, b: Tree, prefix: string[], out: string[][]): void {
  const index = new Map<string, [string, string, Value]>();
  for (const e of a) index.set(`${e[0]}\u0000${e[1]}`, e);
  const seen = new Set<string>();
  for (const e of b) {
    const id = `${e[0]}\u0000${e[1]}`;
    seen.add(id);
    const old = index.get(id);
    const path = [...prefix, e[1]];
    if (old === undefined) out.push(path);
    else if (e[0] === 'm' && isTree(old[2]) && isTree(e[2])) {
      const before = out.length;
      diffTrees(old[2] as Tree, e[2] as Tree, path, out);
      if (out.length > before) out.push(path);
    } else if (!sameBytes(encodeValue(old[2]), encodeValue(e[2]))) out.push(path);
  }
  for (const e of a) if (!seen.has(`${e[0]}\u0000${e[1]}`)) out.push([...prefix, e[1]]);
}

/** What a handle needs from the map replica it belongs to (an {@link ORMap}); not for use outside the package. */
export interface MapRoot {
  edit(path: readonly Uint8Array[], names: readonly string[], op: number, value: Uint8Array, amount: bigint, method: string): boolean;
  read(path: readonly Uint8Array[], method: string): Value;
  meta(path: readonly Uint8Array[], method: string): BigUint64Array;
}

const EMPTY = new Uint8Array(0);

/** A value inside an {@link ORMap}, addressed by its path. */
export abstract class MapValue {
  /** Made by the methods of {@link MapHandle}. @internal */
  constructor(
    /** @internal */ protected readonly root: MapRoot,
    /** @internal */ protected readonly path: readonly Uint8Array[],
    /** The names from the document down to this value. */ readonly names: readonly string[],
  ) {}

  /** @internal */
  protected edit(op: number, method: string, value: Uint8Array = EMPTY, amount = 0n): boolean {
    return this.root.edit(this.path, this.names, op, value, amount, method);
  }

  /** @internal */
  protected read(method: string): Value {
    return this.root.read(this.path, method);
  }

  /** @internal */
  protected meta(method: string): BigUint64Array {
    return this.root.meta(this.path, method);
  }
}

function encodeIn(where: string, v: unknown): Uint8Array {
  return encodeFor(where, v).slice();
}

/** A counter inside an {@link ORMap} (a {@link CausalCounter}). */
export class CounterHandle extends MapValue {
  /** Adds `n` (default 1). */
  inc(n: number | bigint = 1): void {
    this.edit(0, 'counter.inc', EMPTY, signedAmount(n, 'ORMap.counter.inc'));
  }

  /** Subtracts `n` (default 1). */
  dec(n: number | bigint = 1): void {
    this.edit(0, 'counter.dec', EMPTY, -signedAmount(n, 'ORMap.counter.dec'));
  }

  /** The value (0 when absent). */
  get value(): number {
    const v = this.read('counter.value');
    return typeof v === 'number' ? v : 0;
  }
}

function signedAmount(n: number | bigint, where: string): bigint {
  const a = uint64(n, where, 'amount');
  if (a >= 1n << 63n) throw new RangeError(`${where}: amount ${a} is out of range (0 to 2^63 - 1)`);
  return a;
}

/** An enable-wins flag inside an {@link ORMap} (an {@link EWFlag}). */
export class FlagHandle extends MapValue {
  /** Enables the flag. */
  enable(): void {
    this.edit(1, 'flag.enable');
  }

  /** Disables the flag (the enables seen here). */
  disable(): void {
    this.edit(2, 'flag.disable');
  }

  /** Whether the flag is enabled (`false` when absent). */
  get value(): boolean {
    return this.read('flag.value') === true;
  }
}

/** A last-writer-wins field inside an {@link ORMap}. Writes are stamped from the map's clock. */
export class LWWHandle<T extends Value = Value> extends MapValue {
  /** Writes `value`. */
  set(value: T): void {
    this.edit(3, 'lww.set', encodeIn('ORMap.lww.set', value));
  }

  /** The current value; `undefined` before any write or when absent. */
  get value(): T | undefined {
    const v = this.read('lww.value');
    return v === null ? undefined : (v as T);
  }

  /** The wall-clock part (ms since the epoch) of the current write's timestamp. */
  get timestampMs(): number | undefined {
    const m = this.meta('lww.timestampMs');
    return m.length === 2 ? Number(m[1]) : undefined;
  }

  /** The replica that made the current write. */
  get writer(): bigint | undefined {
    const m = this.meta('lww.writer');
    return m.length === 2 ? m[0] : undefined;
  }
}

/** An add-wins set inside an {@link ORMap} (an {@link ORSet}). */
export class SetHandle<T extends Value = Value> extends MapValue {
  /** Adds `element`. */
  add(element: T): void {
    this.edit(4, 'set.add', encodeIn('ORMap.set.add', element));
  }

  /** Removes `element` (the adds seen here); returns whether it was present. */
  remove(element: T): boolean {
    return this.edit(5, 'set.remove', encodeIn('ORMap.set.remove', element));
  }

  /** Removes every element seen here. */
  clear(): void {
    this.edit(7, 'set.clear');
  }

  /** The elements, in the canonical order. */
  values(): T[] {
    const v = this.read('set.values');
    return isTree(v) ? (v as T[]) : [];
  }

  /** Whether `element` is in the set. */
  has(element: T): boolean {
    const b = encodeIn('ORMap.set.has', element);
    return this.values().some((e) => sameBytes(encodeValue(e), b));
  }

  /** Number of elements. */
  get size(): number {
    return this.values().length;
  }
}

/** A multi-value register inside an {@link ORMap} (an {@link MVRegister}). */
export class RegisterHandle<T extends Value = Value> extends MapValue {
  /** Writes `value`, replacing the siblings seen here. */
  set(value: T): void {
    this.edit(6, 'register.set', encodeIn('ORMap.register.set', value));
  }

  /** Removes the siblings seen here. */
  clear(): void {
    this.edit(7, 'register.clear');
  }

  /** The concurrent values. */
  values(): T[] {
    const v = this.read('register.values');
    return isTree(v) ? (v as T[]) : [];
  }

  /** The concurrent values with the writes that made them, in the order of {@link values}. */
  siblings(): Sibling<T>[] {
    const values = this.values();
    const dots = this.meta('register.siblings');
    return values.map((value, i) => ({ value, replica: dots[2 * i]!, seq: dots[2 * i + 1]! }));
  }
}

/**
 * A map inside an {@link ORMap}, or the document itself. Each name holds values of one or
 * more kinds: `counter('milk')` and `lww('milk')` are two entries. Handles are cheap
 * addresses: make them as needed, they hold no state.
 */
export class MapHandle extends MapValue {
  /** @internal */
  static of(root: MapRoot, path: readonly Uint8Array[], names: readonly string[]): MapHandle {
    return new MapHandle(root, path, names);
  }

  #at(kind: MapValueKind, name: string, method: string): [Uint8Array[], string[]] {
    return [[...this.path, keyBytes(kind, name, `ORMap.${method}`)], [...this.names, name]];
  }

  /** The map under `name` (created by its first edit). */
  map(name: string): MapHandle {
    return new MapHandle(this.root, ...this.#at('map', name, 'map'));
  }

  /** The counter under `name`. */
  counter(name: string): CounterHandle {
    return new CounterHandle(this.root, ...this.#at('counter', name, 'counter'));
  }

  /** The enable-wins flag under `name`. */
  flag(name: string): FlagHandle {
    return new FlagHandle(this.root, ...this.#at('flag', name, 'flag'));
  }

  /** The last-writer-wins field under `name`. */
  lww<T extends Value = Value>(name: string): LWWHandle<T> {
    return new LWWHandle<T>(this.root, ...this.#at('lww', name, 'lww'));
  }

  /** The add-wins set under `name`. */
  set<T extends Value = Value>(name: string): SetHandle<T> {
    return new SetHandle<T>(this.root, ...this.#at('set', name, 'set'));
  }

  /** The multi-value register under `name`. */
  register<T extends Value = Value>(name: string): RegisterHandle<T> {
    return new RegisterHandle<T>(this.root, ...this.#at('register', name, 'register'));
  }

  /**
   * Removes the value of `kind` under `name` (every kind when omitted): the part of it this
   * replica has seen. A concurrent update elsewhere survives. Returns whether anything was
   * removed.
   */
  remove(name: string, kind?: MapValueKind): boolean {
    if (kind !== undefined && !Object.hasOwn(KIND_BYTE, kind)) {
      throw new TypeError(`ORMap.remove: unknown kind ${String(kind)}`);
    }
    const kinds = kind === undefined ? this.entries().filter((e) => e.name === name).map((e) => e.kind) : [kind];
    let changed = false;
    for (const k of kinds) changed = this.edit(8, 'remove', keyBytes(k, name, 'ORMap.remove')) || changed;
    return changed;
  }

  /** Removes every entry seen here. */
  clear(): void {
    this.edit(7, 'clear');
  }

  /** The entries, in key order (kind, then name). */
  entries(): MapEntry[] {
    const v = this.read('entries');
    if (!isTree(v)) return [];
    return (v as Tree).map(([k, name, value]) => {
      const kind = KIND_OF[k]!;
      return { name, kind, value: treeJSON(kind, value) };
    });
  }

  /** The distinct names, sorted. */
  keys(): string[] {
    return [...new Set(this.entries().map((e) => e.name))].sort();
  }

  /** Whether `name` holds a value (of `kind`, when given). */
  has(name: string, kind?: MapValueKind): boolean {
    return this.entries().some((e) => e.name === name && (kind === undefined || e.kind === kind));
  }

  /** The value under `name` read as JSON (of `kind`, when given; else the first kind in key order). */
  get(name: string, kind?: MapValueKind): Value | undefined {
    return this.entries().find((e) => e.name === name && (kind === undefined || e.kind === kind))?.value;
  }

  /** Number of entries (a name held by two kinds counts twice). */
  get size(): number {
    return this.entries().length;
  }

  /**
   * The map as plain nested JS values: maps are objects, counters numbers, flags booleans,
   * LWW fields their value (`null` before a write), sets and registers arrays. A name held by
   * two kinds appears as `name` (the first kind in key order) and `name:kind`.
   */
  toJSON(): MapJSON {
    return treeJSON('map', this.read('toJSON')) as MapJSON;
  }
}

/**
 * An observed-remove map: a whole document (a cart, a form, a profile) in one replica and one
 * {@link SyncSession}. Values of every kind nest under names, maps to any depth (up to 16):
 * `cart.map('alice').counter('milk').inc(2)`. Removing a key removes what this replica has
 * seen of its value; an update concurrent with the remove survives (remove + concurrent +1
 * leaves a quantity of 1). Change events carry the {@link ChangeEvent.paths} that changed.
 */
export class ORMap extends Replica {
  readonly #now: () => number;
  readonly #root: MapHandle;
  #snapshot: Tree | undefined;
  #localPaths: string[][] | undefined;

  /** An empty map. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId, options: LWWOptions = {}) {
    super('ORMap', replica);
    this.#now = options.now ?? Date.now;
    this.#root = MapHandle.of(this, [], []);
    if (options.maxAheadMs !== undefined) this.call('maxAheadMs', (w) => w.setMaxAheadMs(options.maxAheadMs!));
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId, options: LWWOptions = {}): ORMap {
    const w = Replica.decoded('ORMap', bytes, replica);
    return Replica.adopt(() => new ORMap(undefined, options), w);
  }

  /** @internal */
  protected override wallMs(): number {
    return this.#now();
  }

  /** @internal */
  edit(path: readonly Uint8Array[], names: readonly string[], op: number, value: Uint8Array, amount: bigint, method: string): boolean {
    const p = concatPath(path);
    const now = op === 3 ? this.#now() : 0;
    const changed = this.call(method, (w) => w.mapEdit(p, op, value, amount, now, this.keepDelta));
    if (changed) {
      const target = op === 8 ? [...names, new TextDecoder().decode(value.subarray(1))] : [...names];
      this.#localPaths = [target];
    }
    this.afterLocal(changed);
    this.#localPaths = undefined;
    return changed;
  }

  /** @internal */
  read(path: readonly Uint8Array[], method: string): Value {
    const p = concatPath(path);
    return decodeValue(this.call(method, (w) => w.mapRead(p)));
  }

  /** @internal */
  meta(path: readonly Uint8Array[], method: string): BigUint64Array {
    const p = concatPath(path);
    return this.call(method, (w) => w.mapMeta(p));
  }

  /** @internal */
  protected override event(local: boolean, origin: unknown): ChangeEvent {
    const before = this.#snapshot;
    const after = this.read([], 'onChange') as Tree;
    this.#snapshot = after;
    let paths: string[][];
    if (this.#localPaths) paths = this.#localPaths;
    else {
      paths = [];
      diffTrees(before ?? [], after, [], paths);
    }
    return { local, origin, paths };
  }

  /** Calls `listener` after every change, with the paths that changed; returns the unsubscribe function. */
  override onChange(listener: ChangeListener): () => void {
    if (!this.listening) this.#snapshot = this.read([], 'onChange') as Tree;
    return super.onChange(listener);
  }

  /** The document as a {@link MapHandle}. */
  get root(): MapHandle {
    return this.#root;
  }

  /** See {@link MapHandle.map}. */
  map(name: string): MapHandle {
    return this.#root.map(name);
  }
  /** See {@link MapHandle.counter}. */
  counter(name: string): CounterHandle {
    return this.#root.counter(name);
  }
  /** See {@link MapHandle.flag}. */
  flag(name: string): FlagHandle {
    return this.#root.flag(name);
  }
  /** See {@link MapHandle.lww}. */
  lww<T extends Value = Value>(name: string): LWWHandle<T> {
    return this.#root.lww<T>(name);
  }
  /** See {@link MapHandle.set}. */
  set<T extends Value = Value>(name: string): SetHandle<T> {
    return this.#root.set<T>(name);
  }
  /** See {@link MapHandle.register}. */
  register<T extends Value = Value>(name: string): RegisterHandle<T> {
    return this.#root.register<T>(name);
  }
  /** See {@link MapHandle.remove}. */
  remove(name: string, kind?: MapValueKind): boolean {
    return this.#root.remove(name, kind);
  }
  /** See {@link MapHandle.clear}. */
  clear(): void {
    this.#root.clear();
  }
  /** See {@link MapHandle.entries}. */
  entries(): MapEntry[] {
    return this.#root.entries();
  }
  /** See {@link MapHandle.keys}. */
  keys(): string[] {
    return this.#root.keys();
  }
  /** See {@link MapHandle.has}. */
  has(name: string, kind?: MapValueKind): boolean {
    return this.#root.has(name, kind);
  }
  /** See {@link MapHandle.get}. */
  get(name: string, kind?: MapValueKind): Value | undefined {
    return this.#root.get(name, kind);
  }
  /** Number of entries (see {@link MapHandle.size}). */
  get size(): number {
    return this.#root.size;
  }
  /** See {@link MapHandle.toJSON}. */
  toJSON(): MapJSON {
    return this.#root.toJSON();
  }

  /** How far ahead of the local clock (ms) a merged LWW write may be. */
  get maxAheadMs(): number {
    return this.w.maxAheadMs();
  }

  set maxAheadMs(ms: number) {
    if (typeof ms !== 'number') throw new TypeError(`ORMap.maxAheadMs: expected a number, got ${typeof ms}`);
    this.call('maxAheadMs', (w) => w.setMaxAheadMs(ms));
  }
}

/** A path as the wasm side reads it: each key as an encoded `Uint8Array` value. */
function concatPath(path: readonly Uint8Array[]): Uint8Array {
  const parts = path.map((k) => encodeValue(k));
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

/**
 * The replica class of each kind: the JS side's one list of kinds (the wasm side's is the
 * `kinds!` list in `bindings/wasm/src/kinds.rs`; its `WasmReplica` refuses a name it lacks).
 * `SyncSession`, `Kind` and `SyncKind` are derived from it.
 */
export const KINDS = {
  GCounter,
  PNCounter,
  ORSet,
  LWWRegister,
  MVRegister,
  CausalCounter,
  EWFlag,
  BoundedCounter,
  ORMap,
} as const;
