/**
 * The Node entry of `deltacrdt` (also picked by Bun and other runtimes that set the `node`
 * condition): instantiates the WebAssembly synchronously from inlined bytes when imported, so
 * it reads no file and also works when bundled.
 * @module
 */
import { initSync } from './wasm/deltacrdt_wasm.js';
import wasmBase64 from './wasm/inline.js';
import { markReady } from './ready.js';
import { base64Decode } from './base64.js';

type BufferLike = { from(data: string, encoding: 'base64'): Uint8Array };
// Buffer's native decoder is faster; runtimes without it get the portable one.
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

initSync({ module: NodeBuffer ? NodeBuffer.from(wasmBase64, 'base64') : base64Decode(wasmBase64) });
markReady();

export * from './index.js';
