/**
 * The Node entry of `deltacrdt`: instantiates the WebAssembly synchronously from inlined
 * bytes when imported (no file access, so it also works when bundled).
 * @module
 */
import { initSync } from './wasm/deltacrdt_wasm.js';
import wasmBase64 from './wasm/inline.js';
import { markReady } from './ready.js';

declare const Buffer: { from(data: string, encoding: 'base64'): Uint8Array };

initSync({ module: Buffer.from(wasmBase64, 'base64') });
markReady();

export * from './index.js';
