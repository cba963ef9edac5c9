/**
 * The slim entry of `deltacrdt/sync`, `deltacrdt/sync/slim`: {@link SyncSession} and the rest of
 * the API without the inlined WebAssembly; serve `deltacrdt/sync/deltacrdt.wasm` and await
 * `init` once before creating any object.
 * @module
 */
export * from './slim.js';
export * from './session.js';
