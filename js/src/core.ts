/// <reference lib="esnext.disposable" preserve="true" />
/**
 * The JS API: one class per CRDT, each a thin wrapper around a wasm object.
 *
 * Every class: an optional replica id in the constructor (random 64 bits when omitted);
 * mutators that also collect their deltas into a pending delta group ({@link takeDelta});
 * `merge(bytes, origin?)` for deltas and full states; `version()`/`deltaSince(version)` for
 * catch-up; `toBytes()`/`fromBytes()`; subscriptions that return their unsubscribe function;
 * `free()` and `[Symbol.dispose]`, with a FinalizationRegistry (in the wasm glue) as a safety
 * net. Listeners run after the wasm call has returned, so they may use the object freely.
 * @module
 */
import {
  WasmGCounter,
  WasmLWWRegister,
  WasmMVRegister,
  WasmORSet,
  WasmPNCounter,
} from './wasm/deltacrdt_wasm.js';
import { assertReady } from './ready.js';
import { decodeValue, decodeValues, encodeManyScratch, encodeScratch, type Value } from './value.js';

export type { Value } from './value.js';
export { MAX_DEPTH, decodeValue, encodeValue } from './value.js';

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

/** Checks the arguments of a `fromBytes`. */
function fromBytesArgs(bytes: unknown, replica: ReplicaId | undefined, where: string): [Uint8Array, bigint] {
  assertReady(where);
  return [bytesArg(bytes, where), replicaId(replica, where)];
}

/** Prefixes an error's message with `Type.method: `, replacing the wasm side's own prefix. */
function prefixed(where: string, e: unknown): unknown {
  if (e instanceof Error) {
    const type = where.slice(0, where.indexOf('.') + 1);
    let msg = e.message;
    if (type && msg.startsWith(type) && msg.indexOf(': ') > 0) msg = msg.slice(msg.indexOf(': ') + 2);
    e.message = `${where}: ${msg}`;
  }
  return e;
}

/** The methods every wasm class has. */
interface WasmReplica {
  free(): void;
  replica(): bigint;
  version(): Uint8Array;
  deltaSince(version: Uint8Array): Uint8Array;
  toBytes(): Uint8Array;
  takeDelta(): Uint8Array | undefined;
  hasPendingDelta(): boolean;
  takeLastDelta(): Uint8Array | undefined;
}

/** Set by `fromBytes` so the constructor adopts a decoded wasm object instead of making one. */
let adopting: WasmReplica | undefined;

/** What the classes share. Not exported: use the concrete classes. */
abstract class Replica<W extends WasmReplica> implements Disposable {
  #w: W | undefined;
  #onChange: ChangeListener[] = [];
  #onLocalDelta: DeltaListener[] = [];
  /** Cached decoded reads; dropped at every change. @internal */
  protected cache: unknown = undefined;

  /** @internal */
  protected constructor(
    private readonly typeName: string,
    replica: ReplicaId | undefined,
    make: (id: bigint) => W,
  ) {
    assertReady(typeName);
    if (adopting) {
      this.#w = adopting as W;
      adopting = undefined;
    } else {
      this.#w = make(replicaId(replica, typeName));
    }
  }

  /** Builds an instance of `this` class from decoded bytes (used by each `fromBytes`). @internal */
  protected static adopt<T>(make: () => T, w: WasmReplica): T {
    adopting = w;
    try {
      return make();
    } finally {
      adopting = undefined;
    }
  }

  /** The wasm object; throws once freed. @internal */
  protected get w(): W {
    if (this.#w === undefined) throw new Error(`${this.typeName}: used after free()`);
    return this.#w;
  }

  /** Runs a wasm call, prefixing errors with `Type.method`. @internal */
  protected call<R>(method: string, f: (w: W) => R): R {
    const w = this.w;
    try {
      return f(w);
    } catch (e) {
      throw prefixed(`${this.typeName}.${method}`, e);
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
    this.#emit({ local: true, origin: undefined });
  }

  /** After a merge returned. @internal */
  protected afterMerge(changed: boolean, origin: unknown): boolean {
    if (changed) {
      this.cache = undefined;
      this.#emit({ local: false, origin });
    }
    return changed;
  }

  #emit(event: ChangeEvent): void {
    for (const l of this.#onChange.slice()) guarded(l, event);
  }

  /** This replica's id. */
  get replica(): bigint {
    return this.w.replica();
  }

  /**
   * Applies a delta or a full state of this type (from any replica, in any order, any number
   * of times); returns whether anything changed. Bytes of another type, or damaged bytes,
   * throw and change nothing. `origin` is passed to change listeners (e.g. the peer it came
   * from, so a relay does not echo it back).
   */
  merge(bytes: Uint8Array, origin?: unknown): boolean {
    const b = bytesArg(bytes, `${this.typeName}.merge`);
    return this.afterMerge(this.call('merge', (w) => this.mergeImpl(w, b)), origin);
  }

  /** @internal */
  protected abstract mergeImpl(w: W, bytes: Uint8Array): boolean;

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
   * changes), or `undefined` if there were none.
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
    return subscribe(this.#onLocalDelta, listener);
  }

  /** Releases the wasm memory now. Using the object afterwards throws. Idempotent. */
  free(): void {
    const w = this.#w;
    this.#w = undefined;
    this.#onChange = [];
    this.#onLocalDelta = [];
    w?.free();
  }

  /** Same as {@link free}, for `using`. */
  [Symbol.dispose](): void {
    this.free();
  }
}

/**
 * Calls a listener; an exception it throws is rethrown from a microtask (reported like an
 * uncaught error) so that the other listeners still run and the mutation, which did happen,
 * does not look failed to its caller.
 */
function guarded<A>(listener: (arg: A) => void, arg: A): void {
  try {
    listener(arg);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
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

/** A grow-only counter. */
export class GCounter extends Replica<WasmGCounter> {
  /** A counter at zero. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('GCounter', replica, (id) => new WasmGCounter(id));
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): GCounter {
    const w = WasmGCounter.fromBytes(...fromBytesArgs(bytes, replica, 'GCounter.fromBytes'));
    return Replica.adopt(() => new GCounter(), w);
  }

  /** Adds `n` (default 1) on behalf of this replica. */
  inc(n: number | bigint = 1): void {
    const amount = checkedAmount(n, 'GCounter.inc');
    this.afterLocal(this.call('inc', (w) => w.inc(amount, this.keepDelta)));
  }

  /** The value (exact up to 2^53; see {@link bigValue}). */
  get value(): number {
    return Number(this.bigValue);
  }

  /** The exact value. */
  get bigValue(): bigint {
    return int128(this.w.valueBytes());
  }

  /** @internal */
  protected mergeImpl(w: WasmGCounter, bytes: Uint8Array): boolean {
    return w.merge(bytes);
  }
}

/** A counter that goes up and down. */
export class PNCounter extends Replica<WasmPNCounter> {
  /** A counter at zero. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('PNCounter', replica, (id) => new WasmPNCounter(id));
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes(bytes: Uint8Array, replica?: ReplicaId): PNCounter {
    const w = WasmPNCounter.fromBytes(...fromBytesArgs(bytes, replica, 'PNCounter.fromBytes'));
    return Replica.adopt(() => new PNCounter(), w);
  }

  /** Adds `n` (default 1). */
  inc(n: number | bigint = 1): void {
    const amount = checkedAmount(n, 'PNCounter.inc');
    this.afterLocal(this.call('inc', (w) => w.inc(amount, this.keepDelta)));
  }

  /** Subtracts `n` (default 1). */
  dec(n: number | bigint = 1): void {
    const amount = checkedAmount(n, 'PNCounter.dec');
    this.afterLocal(this.call('dec', (w) => w.dec(amount, this.keepDelta)));
  }

  /** Adds a signed amount: positive increments, negative decrements. */
  add(n: number | bigint): void {
    const negative = typeof n === 'bigint' ? n < 0n : typeof n === 'number' && n < 0;
    // Negating keeps the type (number or bigint) and the checks of `checkedAmount`.
    const amount = checkedAmount(negative ? -n : n, 'PNCounter.add');
    this.afterLocal(this.call('add', (w) => (negative ? w.dec(amount, this.keepDelta) : w.inc(amount, this.keepDelta))));
  }

  /** The value (exact within ±2^53; see {@link bigValue}). */
  get value(): number {
    return Number(this.bigValue);
  }

  /** The exact value. */
  get bigValue(): bigint {
    return int128(this.w.valueBytes());
  }

  /** @internal */
  protected mergeImpl(w: WasmPNCounter, bytes: Uint8Array): boolean {
    return w.merge(bytes);
  }
}

/**
 * An add-wins observed-remove set of {@link Value}s. Elements are compared by their canonical
 * encoding: `{a: 1, b: 2}` equals `{b: 2, a: 1}`, `-0` equals `0`, and a `Uint8Array` equals
 * another with the same bytes. `T` narrows the element type for TypeScript; it is not checked
 * on merged data.
 */
export class ORSet<T extends Value = Value> extends Replica<WasmORSet> implements Iterable<T> {
  /** An empty set. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('ORSet', replica, (id) => new WasmORSet(id));
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(bytes: Uint8Array, replica?: ReplicaId): ORSet<T> {
    const w = WasmORSet.fromBytes(...fromBytesArgs(bytes, replica, 'ORSet.fromBytes'));
    return Replica.adopt(() => new ORSet<T>(), w);
  }

  /** Adds `element` (a concurrent remove elsewhere does not cancel it: add wins). */
  add(element: T): void {
    const bytes = this.encode('add', element);
    this.afterLocal(this.call('add', (w) => w.add(bytes, this.keepDelta)));
  }

  /** Adds every element of `elements`, as one delta and one wasm call. All or nothing. */
  addAll(elements: Iterable<T>): void {
    const bytes = this.encodeMany('addAll', elements);
    this.afterLocal(this.call('addAll', (w) => w.addAll(bytes, this.keepDelta)));
  }

  /** Removes `element` (the adds this replica has seen); returns whether it was present. */
  remove(element: T): boolean {
    const bytes = this.encode('remove', element);
    const changed = this.call('remove', (w) => w.remove(bytes, this.keepDelta));
    this.afterLocal(changed);
    return changed;
  }

  /** Removes every element of `elements`, as one delta and one wasm call. */
  removeAll(elements: Iterable<T>): void {
    const bytes = this.encodeMany('removeAll', elements);
    this.afterLocal(this.call('removeAll', (w) => w.removeAll(bytes, this.keepDelta)));
  }

  /** Removes every element this replica has seen. */
  clear(): void {
    this.afterLocal(this.call('clear', (w) => w.clear(this.keepDelta)));
  }

  /** Whether `element` is in the set. */
  has(element: T): boolean {
    const bytes = this.encode('has', element);
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

  /** @internal */
  private encode(method: string, element: unknown): Uint8Array {
    try {
      return encodeScratch(element);
    } catch (e) {
      throw prefixed(`ORSet.${method}`, e);
    }
  }

  /** @internal */
  private encodeMany(method: string, elements: Iterable<unknown>): Uint8Array {
    if (elements == null || typeof (elements as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`ORSet.${method}: expected an iterable`);
    }
    try {
      return encodeManyScratch(elements);
    } catch (e) {
      throw prefixed(`ORSet.${method}`, e);
    }
  }

  /** @internal */
  protected mergeImpl(w: WasmORSet, bytes: Uint8Array): boolean {
    return w.merge(bytes);
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
export class LWWRegister<T extends Value = Value> extends Replica<WasmLWWRegister> {
  readonly #now: () => number;

  /** An empty register. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId, options: LWWOptions = {}) {
    super('LWWRegister', replica, (id) => new WasmLWWRegister(id));
    this.#now = options.now ?? Date.now;
    if (options.maxAheadMs !== undefined) this.maxAheadMs = options.maxAheadMs;
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(
    bytes: Uint8Array,
    replica?: ReplicaId,
    options: LWWOptions = {},
  ): LWWRegister<T> {
    const w = WasmLWWRegister.fromBytes(...fromBytesArgs(bytes, replica, 'LWWRegister.fromBytes'));
    return Replica.adopt(() => new LWWRegister<T>(undefined, options), w);
  }

  /** Writes `value`. */
  set(value: T): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeScratch(value);
    } catch (e) {
      throw prefixed('LWWRegister.set', e);
    }
    const now = this.#now();
    this.afterLocal(this.call('set', (w) => w.set(bytes, now, this.keepDelta)));
  }

  /** The current value; `undefined` before any write. */
  get value(): T | undefined {
    if (this.cache === undefined) {
      const bytes = this.w.value();
      this.cache = bytes === undefined ? null : { v: decodeValue(bytes) };
    }
    return this.cache === null ? undefined : (this.cache as { v: T }).v;
  }

  /** The wall-clock part (ms since the epoch) of the current write's timestamp. */
  get timestampMs(): number | undefined {
    return this.w.timestampMs();
  }

  /** The replica that made the current write. */
  get writer(): bigint | undefined {
    return this.w.writer();
  }

  /** How far ahead of the local clock (ms) a merged write may be stamped. */
  get maxAheadMs(): number {
    return this.w.maxAheadMs();
  }

  set maxAheadMs(ms: number) {
    if (typeof ms !== 'number') throw new TypeError(`LWWRegister.maxAheadMs: expected a number, got ${typeof ms}`);
    this.call('maxAheadMs', (w) => w.setMaxAheadMs(ms));
  }

  /** @internal */
  protected mergeImpl(w: WasmLWWRegister, bytes: Uint8Array): boolean {
    return w.merge(bytes, this.#now());
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
export class MVRegister<T extends Value = Value> extends Replica<WasmMVRegister> {
  /** An empty register. `replica` defaults to a random 64-bit id. */
  constructor(replica?: ReplicaId) {
    super('MVRegister', replica, (id) => new WasmMVRegister(id));
  }

  /** A replica holding the state `bytes` (from {@link toBytes}). */
  static fromBytes<T extends Value = Value>(bytes: Uint8Array, replica?: ReplicaId): MVRegister<T> {
    const w = WasmMVRegister.fromBytes(...fromBytesArgs(bytes, replica, 'MVRegister.fromBytes'));
    return Replica.adopt(() => new MVRegister<T>(), w);
  }

  /** Writes `value`, replacing every sibling this replica has seen. */
  set(value: T): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeScratch(value);
    } catch (e) {
      throw prefixed('MVRegister.set', e);
    }
    this.afterLocal(this.call('set', (w) => w.write(bytes, this.keepDelta)));
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

  /** @internal */
  protected mergeImpl(w: WasmMVRegister, bytes: Uint8Array): boolean {
    return w.merge(bytes);
  }
}
