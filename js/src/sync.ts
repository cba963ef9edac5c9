/**
 * The `deltacrdt/sync` package entry: everything `deltacrdt` exports plus {@link SyncSession},
 * the anti-entropy session that keeps replicas in sync over any unreliable transport. It ships
 * its own, larger WebAssembly build (the default entry leaves the session out).
 *
 * This file is the type entry; at run time the `node` or `browser` variant loads, each
 * initializing that WebAssembly synchronously from inlined bytes.
 * @module
 */
export * from './index.js';
export * from './session.js';
