/**
 * The `deltacrdt` package: delta-state CRDTs for Node and browsers.
 *
 * This file is the type entry of `deltacrdt`; at run time the `node` or `browser` entry loads,
 * each initializing the WebAssembly synchronously from inlined bytes.
 * @module
 */
export * from './core.js';
export { isReady } from './ready.js';
