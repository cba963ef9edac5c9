/**
 * The `deltacrdt/sync` entry, kept for existing imports: the very same module as `deltacrdt`
 * (one WebAssembly instance, one set of classes), so `SyncSession` and the replica classes
 * may be imported from either.
 * @module
 */
export * from './index.js';
