/**
 * The browser entry of `deltacrdt/sync` (also the default for bundlers): the `deltacrdt`
 * browser entry (compiled against the sync build of the WebAssembly) plus {@link SyncSession}.
 * @module
 */
export * from './browser.js';
export * from './session.js';
