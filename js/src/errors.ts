/**
 * {@link DeltaCrdtError}: what the package throws when the WebAssembly side refuses an input
 * (bytes from a peer, a value, an operation); argument mistakes caught in JS stay `TypeError`
 * and `RangeError`. This module is the one place that names the class and method in a message.
 * @module
 */
import { WasmError } from './wasm/deltacrdt_wasm.js';

/**
 * Why an input was refused:
 * - `decode`: bytes that are not a valid state, delta, version or message (see `offset`);
 * - `kind`: bytes or a message of another CRDT type;
 * - `value`: an element or value that is not a JS value;
 * - `overflow`: a counter would pass 2^64 - 1;
 * - `exhausted`: a replica ran out of event numbers or clock readings;
 * - `time-bound`: an LWW write stamped too far ahead of the local clock;
 * - `argument`: an argument the WebAssembly side refused (a bad time, an unknown type);
 * - `unknown-neighbour`, `checksum`, `unissued`, `dot-collision`, `refused`, `protocol`: a sync
 *   message refused by the session (see `SyncSession.handleMessage`);
 * - `recovering`: a restored session is still recovering;
 * - `rights`: a `BoundedCounter` decrement or transfer beyond this replica's rights;
 * - `internal`: a bug of the package (please report it).
 */
export type DeltaCrdtErrorCode =
  | 'decode'
  | 'kind'
  | 'value'
  | 'overflow'
  | 'exhausted'
  | 'time-bound'
  | 'argument'
  | 'unknown-neighbour'
  | 'checksum'
  | 'unissued'
  | 'dot-collision'
  | 'refused'
  | 'protocol'
  | 'recovering'
  | 'rights'
  | 'internal';

/** An input the package refused. The message starts with `Type.method: `. */
export class DeltaCrdtError extends Error {
  /** What kind of problem it is. */
  readonly code: DeltaCrdtErrorCode;
  /** For bytes: the offset of the problem in them. */
  readonly offset: number | undefined;
  /** The class and method that refused the input, e.g. `ORSet.merge`. */
  readonly method: string;

  /** @internal */
  constructor(method: string, code: DeltaCrdtErrorCode, problem: string, offset?: number) {
    super(`${method}: ${problem}`);
    this.name = 'DeltaCrdtError';
    this.code = code;
    this.offset = offset;
    this.method = method;
  }
}

/**
 * Rethrows an error of a call made by `method`: a WebAssembly error as a
 * {@link DeltaCrdtError}, a JS error with `method: ` before its message. @internal
 */
export function rethrow(method: string, e: unknown): never {
  if (e instanceof WasmError) {
    const err = new DeltaCrdtError(method, e.code as DeltaCrdtErrorCode, e.message, e.offset >= 0 ? e.offset : undefined);
    e.free();
    throw err;
  }
  if (e instanceof Error && !(e instanceof DeltaCrdtError)) e.message = `${method}: ${e.message}`;
  throw e;
}

/** Listeners that threw, reported instead of thrown (see {@link setErrorHandler}). */
let report: (error: unknown) => void = (error) => console.error('deltacrdt: a listener threw:', error);

/**
 * Sets what happens to an exception thrown by a listener (`onChange`, `onLocalDelta`, ...),
 * and to the error of an edit held during a session's recovery that failed when it ran: by
 * default it is printed with `console.error`. A listener's exception never propagates
 * into the mutation or merge that called it, and never kills the process.
 */
export function setErrorHandler(handler: (error: unknown) => void): void {
  if (typeof handler !== 'function') throw new TypeError('setErrorHandler: expected a function');
  report = handler;
}

/** Hands `error` to the error handler (see {@link setErrorHandler}). @internal */
export function reportError(error: unknown): void {
  try {
    report(error);
  } catch {
    // A throwing handler has nowhere left to report to.
  }
}

/** Calls a listener, reporting (never throwing) what it throws. @internal */
export function guarded<A>(listener: (arg: A) => void, arg: A): void {
  try {
    listener(arg);
  } catch (e) {
    reportError(e);
  }
}
