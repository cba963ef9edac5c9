// Every type's semantics through the JS API, the value encoding, errors, subscriptions and
// memory management.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GCounter, PNCounter, ORSet, LWWRegister, MVRegister, encodeValue, decodeValue, MAX_DEPTH,
  DeltaCrdtError, setErrorHandler,
} from 'deltacrdt';
import { hex } from './util.mjs';

test('GCounter: increments, merge, idempotence, big values', () => {
  const a = new GCounter(1);
  const b = new GCounter(2n);
  a.inc();
  a.inc(4);
  b.inc(10n);
  assert.equal(a.merge(b.toBytes()), true);
  assert.equal(a.merge(b.toBytes()), false, 'a duplicate changes nothing');
  assert.equal(b.merge(a.takeDelta()), true);
  assert.equal(a.value, 15);
  assert.equal(b.value, 15);
  assert.equal(a.replica, 1n);
  const big = new GCounter(3);
  big.inc(2n ** 64n - 1n);
  big.merge(new GCounter(4).toBytes());
  const other = new GCounter(4);
  other.inc(2n ** 64n - 1n);
  big.merge(other.toBytes());
  assert.equal(big.bigValue, 2n * (2n ** 64n - 1n), 'the sum does not wrap');
  assert.throws(() => big.inc(1), /GCounter\.inc: counter overflow/);
  assert.equal(big.bigValue, 2n * (2n ** 64n - 1n), 'a failed inc changes nothing');
});

test('PNCounter: up and down, signed add', () => {
  const a = new PNCounter(1);
  const b = new PNCounter(2);
  a.inc(10);
  b.dec(3);
  b.add(-4);
  b.add(2n);
  a.merge(b.toBytes());
  b.merge(a.toBytes());
  assert.equal(a.value, 5);
  assert.equal(b.value, 5);
  assert.equal(a.bigValue, 5n);
  a.add(-1n);
  assert.equal(a.value, 4);
  const low = new PNCounter(7);
  low.add(-(2n ** 64n - 1n));
  low.merge(a.toBytes());
  assert.equal(low.bigValue, 4n - (2n ** 64n - 1n), 'the value goes below -2^63 without wrapping');
  assert.throws(() => low.add(-1), /^DeltaCrdtError: PNCounter\.add: counter overflow/);
  assert.throws(() => low.add(-1), (e) => e instanceof DeltaCrdtError && e instanceof Error && e.code === 'overflow' && e.method === 'PNCounter.add' && e.offset === undefined);
  assert.throws(() => a.add(-0.5), RangeError);
  assert.throws(() => a.inc(-1), /PNCounter\.inc: amount -1 must be a non-negative safe integer/);
});

test('ORSet: add wins over a concurrent remove; re-add after remove', () => {
  const x = new ORSet(1);
  x.add('milk');
  const y = ORSet.fromBytes(x.toBytes(), 2);
  assert.deepEqual(y.values(), ['milk']);
  x.remove('milk');
  y.add('milk');
  x.merge(y.takeDelta());
  y.merge(x.takeDelta());
  assert.equal(x.has('milk'), true, 'add wins');
  assert.deepEqual(x.values(), y.values());
  assert.equal(x.remove('milk'), true);
  assert.equal(x.remove('milk'), false, 'absent: nothing to remove');
  x.add('milk');
  assert.equal(x.has('milk'), true);
  x.clear();
  assert.equal(x.size, 0);
});

test('ORSet: elements are compared by canonical value', () => {
  const s = new ORSet(1);
  s.add({ b: [1, 2], a: 'x' });
  s.add({ a: 'x', b: [1, 2] });
  s.add(-0);
  s.add(0);
  s.add(new Uint8Array([1, 2]));
  s.add(new Uint8Array([1, 2]));
  s.add(1.5);
  s.add(2 ** 60);
  s.add(-(2 ** 53 - 1));
  assert.equal(s.size, 6);
  assert.ok(s.has({ a: 'x', b: [1, 2] }));
  assert.ok(s.has(0) && s.has(-0));
  assert.ok(s.has(new Uint8Array([1, 2])));
  assert.ok(!s.has(new Uint8Array([1, 3])));
  const values = s.values();
  assert.ok(values.some((v) => v instanceof Uint8Array && hex(v) === '0102'));
  assert.ok(values.includes(2 ** 60) && values.includes(-(2 ** 53 - 1)) && values.includes(1.5));
  assert.ok(Object.is(values.find((v) => v === 0), 0), '-0 reads back as 0');
});

test('ORSet: values, batch add of 10,000 as one delta, batch remove', () => {
  const a = new ORSet(1);
  const items = Array.from({ length: 10_000 }, (_, i) => `item-${i}`);
  a.addAll(items);
  const delta = a.takeDelta();
  assert.ok(delta instanceof Uint8Array);
  assert.equal(a.takeDelta(), undefined, 'the group was handed out');
  const b = new ORSet(2);
  assert.equal(b.merge(delta), true);
  assert.equal(b.size, 10_000);
  assert.deepEqual(new Set(b.values()), new Set(items));
  b.removeAll(items.slice(0, 5_000));
  a.merge(b.takeDelta());
  assert.equal(a.size, 5_000);
  assert.deepEqual([...a], a.values());
});

test('ORSet: addAll is all or nothing', () => {
  const s = new ORSet(1);
  s.add('keep');
  const before = s.toBytes();
  assert.throws(() => s.addAll(['a', 'b', undefined]), /ORSet\.addAll: item 2: value: undefined is not supported/);
  assert.deepEqual(s.toBytes(), before);
  assert.throws(() => s.addAll(5), /ORSet\.addAll: expected an iterable/);
});

test('LWWRegister: last writer wins, own writes win even if the clock steps back', () => {
  let now = 1_000_000;
  const clock = () => now;
  const a = new LWWRegister(1, { now: clock });
  const b = new LWWRegister(2, { now: clock });
  assert.equal(a.value, undefined);
  a.set('draft');
  now -= 500; // the wall clock stepped back
  a.set('final');
  assert.equal(a.value, 'final');
  b.merge(a.toBytes());
  assert.equal(b.value, 'final');
  b.set({ by: 'b' });
  a.merge(b.takeDelta());
  assert.deepEqual(a.value, { by: 'b' });
  assert.equal(a.writer, 2n);
  assert.equal(typeof a.timestampMs, 'number');
});

test('LWWRegister: refuses writes too far ahead, and the bound is configurable', () => {
  let now = 1_000_000;
  const future = new LWWRegister(9, { now: () => now + 10 * 60_000 });
  future.set('from the future');
  const a = new LWWRegister(1, { now: () => now });
  assert.equal(a.maxAheadMs, 300_000, 'default: 5 minutes');
  a.set('mine');
  const before = a.toBytes();
  assert.throws(() => a.merge(future.toBytes()), /LWWRegister\.merge: timestamp .* ahead of the local clock/);
  assert.deepEqual(a.toBytes(), before, 'a refused merge changes nothing');
  a.maxAheadMs = 20 * 60_000;
  assert.equal(a.merge(future.toBytes()), true);
  assert.equal(a.value, 'from the future');
  const strict = new LWWRegister(3, { now: () => now, maxAheadMs: 0 });
  assert.throws(() => strict.merge(future.toBytes()), /ahead/);
  assert.throws(() => { strict.maxAheadMs = -1; }, /LWWRegister\.maxAheadMs: the time must be/);
});

test('MVRegister: concurrent writes are siblings until a write that saw them', () => {
  const x = new MVRegister(1);
  const y = new MVRegister(2);
  x.set('blue');
  y.set('green');
  x.merge(y.toBytes());
  y.merge(x.toBytes());
  assert.deepEqual(x.values(), ['blue', 'green']);
  assert.equal(x.isConflicted, true);
  assert.deepEqual(x.siblings().map((s) => [s.value, s.replica, s.seq]), [['blue', 1n, 1n], ['green', 2n, 1n]]);
  x.set('teal');
  y.merge(x.takeDelta());
  assert.deepEqual(y.values(), ['teal']);
  assert.equal(y.size, 1);
  y.clear();
  assert.deepEqual(y.values(), []);
});

test('version and deltaSince: catch-up sends only what is missing', () => {
  const a = new ORSet(1);
  a.addAll(Array.from({ length: 1000 }, (_, i) => i));
  const b = ORSet.fromBytes(a.toBytes(), 2);
  a.add('new');
  const delta = a.deltaSince(b.version());
  assert.ok(delta.length < 100, `delta of one element is small (${delta.length} bytes)`);
  b.merge(delta);
  assert.deepEqual(b.values(), a.values());
  assert.equal(a.deltaSince(a.version()).length < 16, true);
  for (const T of [GCounter, PNCounter, LWWRegister, MVRegister]) {
    const p = new T(1);
    const q = new T(2);
    if (p.inc) p.inc(3); else p.set('v');
    q.merge(p.deltaSince(q.version()));
    assert.deepEqual(q.toBytes(), p.toBytes(), T.name);
  }
});

test('bad input throws a clear Error and changes nothing', () => {
  const s = new ORSet(1);
  s.add('x');
  const before = s.toBytes();
  const counter = new GCounter(1);
  counter.inc();
  assert.throws(() => s.merge(counter.toBytes()), /ORSet\.merge: .*expected ORSet, found GCounter/);
  assert.throws(() => s.merge(s.version()), /ORSet\.merge: .*expected ORSet/);
  assert.throws(() => s.merge(new Uint8Array([9, 9, 9])), /ORSet\.merge: .*unsupported format version 9/);
  assert.throws(() => s.merge(new Uint8Array([])), /ORSet\.merge: .*input ends early/);
  assert.throws(() => s.merge('not bytes'), /ORSet\.merge: expected a Uint8Array, got string/);
  assert.throws(() => s.deltaSince(counter.version()), /ORSet\.deltaSince: /);
  assert.throws(() => ORSet.fromBytes(counter.toBytes()), /ORSet\.fromBytes: /);
  assert.throws(() => new ORSet(-1), /ORSet: replica id -1 must be a non-negative safe integer/);
  assert.throws(() => new ORSet(2n ** 64n), /ORSet: replica id .* out of range/);
  assert.throws(() => new ORSet('7'), /ORSet: replica id must be a number or a bigint/);
  assert.deepEqual(s.toBytes(), before);
});

test('an element that is not a canonical value is refused on merge', () => {
  const s = new ORSet(1);
  s.add(null);
  const good = s.toBytes();
  // The state ends with the element (format version 2: its header byte 30, nothing shared
  // with a previous key and 1 byte added; value tag 0 = null) and its one dot (dot count 1,
  // replica index 0, seq 1): the value tag is the 4th byte from the end.
  assert.equal(good[0], 2);
  assert.deepEqual([...good.subarray(-5)], [30, 0, 1, 0, 1]);
  const forged = good.slice();
  forged[forged.length - 4] = 42;
  const t = new ORSet(2);
  assert.throws(() => t.merge(forged), /ORSet\.merge: an element or value is not a JS value: .*unknown value tag 42/);
  assert.throws(() => ORSet.fromBytes(forged), /ORSet\.fromBytes: an element or value is not a JS value/);
  assert.equal(t.size, 0);
});

test('values that are not supported are refused with the path', () => {
  const s = new ORSet(1);
  const cyclic = { a: [] };
  cyclic.a.push(cyclic);
  let deep = [];
  for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
  const cases = [
    [undefined, /value: undefined is not supported/],
    [NaN, /value: NaN is not supported/],
    [Infinity, /Infinity is not supported/],
    [10n, /value: a bigint is not supported/],
    [Symbol('s'), /a symbol is not supported/],
    [() => 1, /a function is not supported/],
    [new Date(0), /a Date is not supported/],
    [new Map(), /a Map is not supported/],
    [new Uint16Array(2), /a Uint16Array is not supported/],
    [{ a: { b: [1, undefined] } }, /value\.a\.b\[1\]: undefined is not supported/],
    [{ 'odd key': NaN }, /value\["odd key"\]: NaN/],
    ['\uD800', /lone surrogate/],
    [[1, , 3], /value\[1\]: arrays with holes/],
    [cyclic, /value\.a\[0\]: the value contains a cycle/],
    [deep, /nest deeper than 64/],
  ];
  for (const [v, re] of cases) assert.throws(() => s.add(v), re, String(re));
  assert.equal(s.size, 0);
  assert.throws(() => s.add(undefined), /^TypeError: ORSet\.add: value: undefined/);
});

test('value encoding round-trips and is canonical', () => {
  const values = [
    null, true, false, 0, -1, 1, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e300, -1e-300, 0.1,
    '', 'héllo wörld', '😀 and 中文', 'x'.repeat(1000), new Uint8Array([0, 255]),
    [], [1, [2, [3]]], {}, { z: 1, a: { y: [null] } }, { '\uE000': 1, '😀': 2, é: 3 },
    JSON.parse('{"__proto__": 5}'),
  ];
  for (const v of values) {
    const bytes = encodeValue(v);
    assert.deepEqual(decodeValue(bytes), v);
    assert.deepEqual(encodeValue(decodeValue(bytes)), bytes);
  }
  assert.deepEqual(encodeValue({ a: 1, b: 2 }), encodeValue({ b: 2, a: 1 }));
  const proto = decodeValue(encodeValue(JSON.parse('{"__proto__": 5}')));
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a "__proto__" key stays an own property');
  // Keys sort by code point (UTF-8 order): U+E000 before U+1F600 although its UTF-16 unit is larger.
  assert.deepEqual(Object.keys(decodeValue(encodeValue({ '😀': 2, '\uE000': 1 }))), ['\uE000', '😀']);
  const s = new ORSet(1);
  s.add({ '😀': 2, '\uE000': 1 }); // wasm validates the key order
  assert.equal(s.size, 1);
});

test('subscriptions: local deltas, changes with origin, unsubscribe, re-entrancy', () => {
  const a = new ORSet(1);
  const b = new ORSet(2);
  const events = [];
  const offDelta = a.onLocalDelta((d) => b.merge(d, 'from-a'));
  const offChange = b.onChange((e) => events.push(e));
  a.add('x');
  a.addAll(['y', 'z']);
  assert.deepEqual(b.values(), ['x', 'y', 'z']);
  assert.deepEqual(events, [{ local: false, origin: 'from-a' }, { local: false, origin: 'from-a' }]);
  b.add('w');
  assert.deepEqual(events.at(-1), { local: true, origin: undefined });
  b.merge(a.toBytes(), 'again');
  assert.equal(events.length, 3, 'no change, no event');
  offDelta();
  offChange();
  a.add('q');
  assert.equal(b.has('q'), false);

  // A listener that mutates the object it listens to.
  const c = new GCounter(3);
  let seen = 0;
  c.onChange(() => {
    seen++;
    if (c.value < 5) c.inc();
  });
  c.inc();
  assert.equal(c.value, 5);
  assert.equal(seen, 5);
  // A listener that frees the object and one that unsubscribes itself while others run.
  const d = new ORSet(4);
  const calls = [];
  const off1 = d.onChange(() => { calls.push(1); off1(); });
  d.onChange(() => calls.push(2));
  d.add(1);
  d.add(2);
  assert.deepEqual(calls, [1, 2, 2]);
  d.onLocalDelta(() => d.free());
  d.add(3);
  assert.throws(() => d.size, /ORSet: used after free\(\)/);
});

test('free and Symbol.dispose', () => {
  const s = new ORSet(1);
  s.free();
  s.free(); // idempotent
  assert.throws(() => s.add(1), /used after free/);
  // Node 20 has no `using` syntax yet; this is what it calls at the end of the block.
  const t = new GCounter(1);
  t.inc();
  assert.equal(typeof Symbol.dispose, 'symbol');
  t[Symbol.dispose]();
  assert.throws(() => t.value, /used after free/);
});

test('random ids are 64-bit and distinct', () => {
  const ids = new Set(Array.from({ length: 100 }, () => new GCounter().replica));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.ok(id >= 0n && id < 2n ** 64n);
});

test('garbage and mutated bytes never trap and never change the replica', async () => {
  const { rng } = await import('./util.mjs');
  const next = rng(42);
  const sources = [];
  {
    const s = new ORSet(1); s.addAll(['a', { b: [1, 2.5] }, new Uint8Array([7])]); s.remove('a');
    const m = new MVRegister(1); m.set({ k: 'v' });
    const l = new LWWRegister(1); l.set([1, 'two']);
    const g = new GCounter(1); g.inc(7);
    const p = new PNCounter(1); p.dec(7);
    for (const x of [s, m, l, g, p]) sources.push(x.toBytes(), x.version());
  }
  const targets = () => [new ORSet(5), new MVRegister(5), new LWWRegister(5), new GCounter(5), new PNCounter(5)];
  const ts = targets();
  for (const t of ts) if (t instanceof ORSet) t.add('seed'); else if (t.set) t.set('seed'); else t.inc();
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < 3000; round++) {
    const src = sources[Math.floor(next() * sources.length)];
    const bytes = src.slice();
    const flips = 1 + Math.floor(next() * 3);
    for (let f = 0; f < flips; f++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
    const cut = next() < 0.2 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
    for (const t of ts) {
      for (const op of [() => t.merge(cut), () => t.deltaSince(cut)]) {
        const before = hex(t.toBytes());
        try {
          op();
          accepted++;
        } catch (e) {
          refused++;
          assert.ok(e instanceof Error);
          assert.doesNotMatch(e.message, /unreachable|RuntimeError/);
          assert.match(e.message, /^(ORSet|MVRegister|LWWRegister|GCounter|PNCounter)\./);
          assert.equal(hex(t.toBytes()), before, 'a failed call leaves the replica unchanged');
        }
      }
    }
  }
  // Everything still works afterwards (no trap poisoned the instance).
  for (const t of ts) t.toBytes();
  assert.ok(accepted > 0 && refused > 0);
});

test('a throwing listener does not stop the others nor fail the mutation', () => {
  const s = new ORSet(1);
  const seen = [];
  s.onChange(() => {
    throw new Error('listener bug');
  });
  s.onChange(() => seen.push('second'));
  const reported = [];
  setErrorHandler((e) => reported.push(e.message));
  try {
    s.add('x'); // does not throw
    s.merge(new ORSet(2).toBytes()); // no change, no event
    const other = new ORSet(2);
    other.add('y');
    assert.equal(s.merge(other.toBytes()), true); // does not throw either
  } finally {
    setErrorHandler((e) => console.error('deltacrdt: a listener threw:', e));
  }
  assert.deepEqual(seen, ['second', 'second']);
  assert.deepEqual(reported, ['listener bug', 'listener bug']);
  assert.ok(s.has('x') && s.has('y'));
});

test('by default a throwing listener is reported with console.error and never kills the process', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = `
    import { GCounter } from 'deltacrdt';
    const c = new GCounter(1);
    c.onChange(() => { throw new Error('listener bug'); });
    c.inc();
    await new Promise((r) => setTimeout(r, 20));
    console.log('alive', c.value);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('.', import.meta.url),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(out.trim(), 'alive 1');
});
