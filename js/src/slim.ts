/**
 * The slim entry, `deltacrdt/slim`: the same API without the inlined WebAssembly, for apps
 * that serve `deltacrdt.wasm` themselves (`deltacrdt/deltacrdt.wasm` in this package). Call
 * {@link init} once and await it before creating any object.
 * @module
 */
import initWasm, { initSync } from './wasm/deltacrdt_wasm.js';
import { isReady, markReady } from './ready.js';

export * from './index.js';

/** Where to load the WebAssembly from: a URL, a fetch `Response`, the bytes, or a compiled module. */
export type WasmSource = URL | string | Response | Promise<Response> | BufferSource | WebAssembly.Module;

/** Instantiates the WebAssembly from `source`. Safe to call more than once. */
export async function init(source: WasmSource): Promise<void> {
  if (isReady()) return;
  if (source === undefined || source === null) {
    throw new TypeError("init: pass the URL or the bytes of deltacrdt.wasm (from 'deltacrdt/deltacrdt.wasm')");
  }
  await initWasm({ module_or_path: source });
  markReady();
}

/** Instantiates the WebAssembly synchronously from its bytes or a compiled module. */
export function initFromBytes(bytes: BufferSource | WebAssembly.Module): void {
  if (isReady()) return;
  initSync({ module: bytes });
  markReady();
}
