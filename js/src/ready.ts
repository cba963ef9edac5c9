/** Whether the wasm module is instantiated; the entry points set it. @internal @module */

let ready = false;

/** Records that the wasm module is instantiated. @internal */
export function markReady(): void {
  ready = true;
}

/** Whether the wasm module is instantiated. */
export function isReady(): boolean {
  return ready;
}

/** Throws unless the wasm module is instantiated. @internal */
export function assertReady(where: string): void {
  if (!ready) {
    throw new Error(
      `${where}: the WebAssembly module is not initialized; with 'deltacrdt/slim', await init() first`,
    );
  }
}
