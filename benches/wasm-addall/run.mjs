// Times the bare wasm build of the addAll workload (src/lib.rs) in Node: one fresh instance
// per size, so each run starts from an empty memory, as a page loading the package does.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [wasmPath, ...sizes] = process.argv.slice(2);
const bytes = readFileSync(wasmPath);
for (const n of sizes.map(Number)) {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const t = performance.now();
  const len = instance.exports.run(n);
  const ms = performance.now() - t;
  if (len !== n) throw new Error(`run(${n}) returned ${len}`);
  const pages = instance.exports.memory.buffer.byteLength / 65536;
  // The same, in a fresh instance whose heap is grown in one step to what the run above used.
  const second = (await WebAssembly.instantiate(bytes, {})).instance;
  const t2 = performance.now();
  const len2 = second.exports.run_reserved(n, Math.ceil(pages / 16));
  const ms2 = performance.now() - t2;
  if (len2 !== n) throw new Error(`run_reserved(${n}) returned ${len2}`);
  console.log(`wasm ${n} ${ms.toFixed(1)} ms (memory ${pages} pages of 64 KiB); heap grown in one step first: ${ms2.toFixed(1)} ms`);
}
