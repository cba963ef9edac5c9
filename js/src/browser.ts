/**
 * The browser entry of `deltacrdt` (also the default for bundlers and other runtimes):
 * instantiates the WebAssembly synchronously from inlined bytes when imported, with no top-level
 * await and no bundler plugin.
 * @module
 */
import { initSync } from './wasm/deltacrdt_wasm.js';
import wasmBase64 from './wasm/inline.js';
import { markReady } from './ready.js';
import { base64Decode } from './base64.js';

initSync({ module: base64Decode(wasmBase64) });
markReady();

export * from './index.js';
