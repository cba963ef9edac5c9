/**
 * The `deltacrdt` package: delta-state CRDTs for Node and browsers, and {@link SyncSession},
 * the anti-entropy session that keeps replicas in sync over any unreliable transport. One
 * WebAssembly module holds everything.
 *
 * This file is the type entry of `deltacrdt`; at run time the `node` or `browser` entry loads,
 * each initializing the WebAssembly synchronously from inlined bytes.
 * @module
 */
export * from './core.js';
export * from './session.js';
export { isReady } from './ready.js';
