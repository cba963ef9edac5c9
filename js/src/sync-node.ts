/**
 * The Node entry of `deltacrdt/sync`: the `deltacrdt` Node entry (compiled against the sync
 * build of the WebAssembly) plus {@link SyncSession}.
 * @module
 */
export * from './node.js';
export * from './session.js';
