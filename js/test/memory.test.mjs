// Memory: free() releases wasm memory at once, and objects dropped without free() are released
// by the FinalizationRegistry safety net, so wasm memory stays bounded either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { ORSet } from 'deltacrdt';
import { initSync } from '../dist/wasm/deltacrdt_wasm.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
// Already initialized by the entry: returns the live instance's exports.
const memory = initSync({ module: new Uint8Array(0) }).memory;
const items = Array.from({ length: 20_000 }, (_, i) => `an element with some length ${i}`);

function fill() {
  const s = new ORSet(1);
  s.addAll(items);
  s.takeDelta();
  return s;
}

test('free() returns memory for reuse', () => {
  fill().free();
  const after = memory.buffer.byteLength;
  for (let i = 0; i < 30; i++) fill().free();
  assert.equal(memory.buffer.byteLength, after, 'no growth when every object is freed');
});

test('objects dropped without free() are reclaimed by the FinalizationRegistry', async () => {
  const perObject = (() => {
    const before = memory.buffer.byteLength;
    const keep = [fill(), fill(), fill()];
    const used = (memory.buffer.byteLength - before) / keep.length;
    for (const s of keep) s.free();
    return used;
  })();
  const start = memory.buffer.byteLength;
  for (let i = 0; i < 40; i++) {
    fill(); // dropped
    if (i % 5 === 4) {
      gc();
      await sleep(10); // finalizers run between turns
    }
  }
  const grown = memory.buffer.byteLength - start;
  assert.ok(grown < 40 * Math.max(perObject, 1 << 20) / 4, `memory grew by ${grown} bytes for 40 dropped sets`);
});
