// ORMap and the causal counter, enable-wins flag and bounded counter through the JS API: the
// semantics table of `map/ormap.rs` row by row, CRDT laws on seeded random operation
// sequences, a cart syncing through one SyncSession per document over a lossy channel, and
// hostile bytes refused with nothing changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ORMap, CausalCounter, EWFlag, BoundedCounter, SyncSession, DeltaCrdtError, KINDS,
} from 'deltacrdt';
import { WasmReplica } from '../dist/wasm/deltacrdt_wasm.js';
import { hex, rng } from './util.mjs';

/** Two-way full-state exchange. */
function sync(a, b) {
  a.merge(b.toBytes());
  b.merge(a.toBytes());
}

test('CausalCounter: up and down, a reset by a concurrent... merge converges', () => {
  const a = new CausalCounter(1);
  const b = new CausalCounter(2);
  a.inc(5);
  b.dec(2);
  sync(a, b);
  assert.equal(a.value, 3);
  assert.equal(b.value, 3);
  assert.equal(hex(a.toBytes()), hex(b.toBytes()));
  const c = CausalCounter.fromBytes(a.toBytes(), 3);
  assert.equal(c.value, 3);
});

test('EWFlag: enable wins over a concurrent disable', () => {
  const a = new EWFlag(1);
  const b = new EWFlag(2);
  a.enable();
  sync(a, b);
  assert.equal(b.value, true);
  b.disable();
  a.enable();
  sync(a, b);
  assert.equal(a.value, true, 'the concurrent enable wins');
  assert.equal(b.value, true);
  a.disable();
  sync(a, b);
  assert.equal(b.value, false);
});

test('BoundedCounter: never below zero, rights move by transfer', () => {
  const a = new BoundedCounter(1);
  const b = new BoundedCounter(2);
  a.inc(10);
  assert.equal(a.rights, 10);
  a.transfer(2, 4);
  sync(a, b);
  assert.equal(b.rights, 4);
  b.dec(4);
  assert.throws(() => b.dec(1), (e) => e instanceof DeltaCrdtError && e.code === 'rights' && /BoundedCounter\.dec/.test(e.message));
  sync(a, b);
  assert.equal(a.value, 6);
  assert.equal(b.value, 6);
  assert.throws(() => a.transfer(1, 1), DeltaCrdtError);
});

// ----- the semantics table of map/ormap.rs -----

test('ORMap row: update a key; the delta holds only the nested change', () => {
  const a = new ORMap(1);
  a.map('alice').counter('milk').inc(2);
  const full = a.takeDelta();
  for (let i = 0; i < 50; i++) a.counter(`k${i}`).inc(1);
  a.takeDelta();
  let delta;
  a.onLocalDelta((d) => (delta = d));
  a.map('alice').counter('milk').inc(1);
  assert.ok(delta.length < full.length + 40, `delta ${delta.length} B`);
  const b = new ORMap(2);
  b.merge(full);
  b.merge(delta);
  assert.equal(b.map('alice').counter('milk').value, 3);
});

test('ORMap row: remove a key retires what it saw', () => {
  const a = new ORMap(1);
  const b = new ORMap(2);
  a.map('alice').counter('milk').inc(2);
  a.lww('note').set('x');
  sync(a, b);
  assert.equal(b.remove('alice'), true);
  sync(a, b);
  assert.equal(a.has('alice'), false);
  assert.deepEqual(a.toJSON(), { note: 'x' });
  assert.equal(a.remove('alice'), false, 'nothing left to remove');
});

test('ORMap row: an update concurrent with a remove survives with only what the remove had not seen', () => {
  const a = new ORMap(1);
  const b = new ORMap(2);
  a.map('alice').counter('milk').inc(2);
  sync(a, b);
  a.remove('alice');
  b.map('alice').counter('milk').inc(1);
  sync(a, b);
  assert.equal(a.map('alice').counter('milk').value, 1, 'remove + concurrent +1 leaves quantity 1');
  assert.deepEqual(a.toJSON(), b.toJSON());
  assert.equal(hex(a.toBytes()), hex(b.toBytes()));
});

test('ORMap row: concurrent creation of one key merges the children', () => {
  const a = new ORMap(1);
  const b = new ORMap(2);
  a.map('alice').counter('milk').inc(1);
  b.map('alice').counter('eggs').inc(6);
  b.map('alice').set('tags').add('vip');
  sync(a, b);
  assert.deepEqual(a.toJSON(), { alice: { eggs: 6, milk: 1, tags: ['vip'] } });
  assert.deepEqual(b.toJSON(), a.toJSON());
});

test('ORMap row: remove then re-add holds only the new content', () => {
  const a = new ORMap(1);
  a.map('alice').counter('milk').inc(5);
  a.remove('alice');
  a.map('alice').counter('milk').inc(1);
  assert.equal(a.map('alice').counter('milk').value, 1);
});

test('ORMap row: clear removes what it saw; concurrent updates survive', () => {
  const a = new ORMap(1);
  const b = new ORMap(2);
  a.counter('x').inc(1);
  a.flag('y').enable();
  sync(a, b);
  a.clear();
  b.counter('z').inc(3);
  sync(a, b);
  assert.deepEqual(a.toJSON(), { z: 3 });
  assert.deepEqual(b.toJSON(), { z: 3 });
});

test('ORMap: every nested kind, nested maps, JSON, keys, has, get, size', () => {
  const m = new ORMap(1, { now: () => 1_000 });
  m.map('alice').counter('milk').inc(2);
  m.map('alice').lww('note').set('x');
  m.map('alice').map('address').lww('city').set('Lyon');
  m.flag('open').enable();
  m.set('tags').add('a');
  m.set('tags').add({ b: 1 });
  m.register('title').set('T');
  m.lww('milk').set(1);
  assert.deepEqual(m.toJSON(), {
    alice: { address: { city: 'Lyon' }, milk: 2, note: 'x' },
    milk: 1,
    open: true,
    tags: ['a', { b: 1 }],
    title: ['T'],
  });
  assert.deepEqual(m.keys(), ['alice', 'milk', 'open', 'tags', 'title']);
  assert.equal(m.size, 5);
  assert.equal(m.has('alice'), true);
  assert.equal(m.has('alice', 'counter'), false);
  assert.deepEqual(m.get('alice', 'map'), { address: { city: 'Lyon' }, milk: 2, note: 'x' });
  assert.equal(m.set('tags').has({ b: 1 }), true);
  assert.equal(m.set('tags').remove('a'), true);
  assert.equal(m.map('alice').lww('note').value, 'x');
  assert.equal(m.lww('nothing').value, undefined);
  assert.equal(m.counter('nothing').value, 0);
  m.register('title').clear();
  assert.equal(m.has('title'), false);
  const copy = ORMap.fromBytes(m.toBytes(), 2);
  assert.deepEqual(copy.toJSON(), m.toJSON());
  // A name of two kinds: both kept, JSON shows `name` and `name:kind`.
  m.counter('open').inc(1);
  assert.deepEqual(Object.keys(m.toJSON()).sort(), ['alice', 'milk', 'open', 'open:flag', 'tags']);
  m.remove('open');
  assert.equal(m.has('open'), false, 'remove without a kind removes every kind');
});

test('ORMap: change events name the changed paths, local and merged with origin', () => {
  const a = new ORMap(1);
  const b = new ORMap(2);
  const seen = [];
  b.onChange((e) => seen.push(e));
  const local = [];
  a.onChange((e) => local.push(e));
  a.map('alice').counter('milk').inc(2);
  assert.deepEqual(local[0], { local: true, origin: undefined, paths: [['alice', 'milk']] });
  b.merge(a.toBytes(), 'peer-a');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].local, false);
  assert.equal(seen[0].origin, 'peer-a');
  assert.deepEqual(seen[0].paths, [['alice']]);
  a.map('alice').counter('milk').inc(1);
  a.lww('note').set('n');
  b.merge(a.toBytes(), 'peer-a');
  // In key order (kind byte, then name: 'l' before 'm'), a map after the changes inside it.
  assert.deepEqual(seen[1].paths, [['note'], ['alice', 'milk'], ['alice']]);
  a.remove('note');
  b.merge(a.toBytes());
  assert.deepEqual(seen[2].paths, [['note']]);
});

test('ORMap: wrong arguments and wrong-kind bytes are typed errors that change nothing', () => {
  const m = new ORMap(1);
  m.counter('x').inc(1);
  const before = hex(m.toBytes());
  assert.throws(() => m.counter(3), TypeError);
  assert.throws(() => m.counter('x').inc(-1), RangeError);
  assert.throws(() => m.set('s').add(undefined), /ORMap\.set\.add/);
  assert.throws(
    () => m.merge(new CausalCounter(2).toBytes()),
    (e) => e instanceof DeltaCrdtError && e.code === 'decode' && e.offset === 1,
  );
  let nested = m.root;
  for (let i = 0; i < 17; i++) nested = nested.map(`m${i}`);
  assert.throws(() => nested.counter('deep').inc(1), (e) => e instanceof DeltaCrdtError && e.code === 'argument');
  assert.equal(hex(m.toBytes()), before);
});

test('ORMap: hostile bytes (every truncation, every flipped byte, forged kinds) are refused or valid, never a crash', () => {
  const m = new ORMap(1, { now: () => 1_000 });
  m.map('alice').counter('milk').inc(2);
  m.map('alice').map('addr').lww('city').set('Lyon');
  m.set('tags').add('a');
  m.flag('f').enable();
  m.register('r').set(1);
  const good = m.toBytes();
  const target = new ORMap(9);
  target.counter('mine').inc(1);
  const before = hex(target.toBytes());
  let refused = 0;
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => target.merge(good.subarray(0, n)), DeltaCrdtError);
    refused++;
  }
  for (let i = 0; i < good.length; i++) {
    for (const x of [0x01, 0x80, 0xff]) {
      const bad = good.slice();
      bad[i] ^= x;
      const probe = ORMap.fromBytes(target.toBytes(), 9);
      try {
        probe.merge(bad);
        // Accepted: then it decodes to a valid state that re-encodes canonically.
        const again = ORMap.fromBytes(probe.toBytes(), 9);
        assert.equal(hex(again.toBytes()), hex(probe.toBytes()));
        probe.toJSON();
      } catch (e) {
        assert.ok(e instanceof DeltaCrdtError, String(e));
        assert.equal(hex(probe.toBytes()), before, 'a refused merge changes nothing');
        refused++;
      }
    }
  }
  assert.ok(refused > good.length);
  assert.equal(hex(target.toBytes()), before);
});

test('ORMap: forged nesting deeper than 16 is refused without a stack overflow', () => {
  // The deepest document the API makes (16 maps) round-trips; a 17th level is refused by
  // the decoder (see the Rust test `forged_depth_is_refused`).
  const m = new ORMap(1);
  let h = m.root;
  for (let i = 0; i < 16; i++) h = h.map(`m${i}`);
  h.counter('c').inc(1);
  const copy = ORMap.fromBytes(m.toBytes(), 2);
  assert.deepEqual(copy.toJSON(), m.toJSON());
});

// ----- CRDT laws on random operation sequences -----

function randomOps(r, m, n) {
  const names = ['a', 'b', 'c'];
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < n; i++) {
    const base = r() < 0.5 ? m.root : m.map(pick(names));
    const name = pick(names);
    switch (Math.floor(r() * 8)) {
      case 0: base.counter(name).inc(1 + Math.floor(r() * 3)); break;
      case 1: base.counter(name).dec(1); break;
      case 2: base.flag(name).enable(); break;
      case 3: base.flag(name).disable(); break;
      case 4: base.set(name).add(pick(['x', 'y', 1])); break;
      case 5: base.lww(name).set(pick(['p', 'q'])); break;
      case 6: base.remove(name); break;
      default: base.register(name).set(i); break;
    }
  }
}

test('ORMap laws: join commutative, associative, idempotent; deltaSince catches up (seeded)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const [a, b, c] = [1, 2, 3].map((id) => new ORMap(id, { now: () => 1_000 + id }));
    for (const x of [a, b, c]) randomOps(r, x, 12);
    // Share a random part so the states overlap.
    if (r() < 0.7) b.merge(a.toBytes());
    randomOps(r, b, 6);
    const [A, B, C] = [a, b, c].map((x) => x.toBytes());
    const join = (...xs) => {
      const t = new ORMap(99);
      for (const x of xs) t.merge(x);
      return hex(t.toBytes());
    };
    assert.equal(join(A, B), join(B, A), `commutative, seed ${seed}`);
    assert.equal(join(A, B, C), join(C, B, A), `associative, seed ${seed}`);
    const ab = ORMap.fromBytes(A, 98);
    ab.merge(B);
    const abc1 = ORMap.fromBytes(ab.toBytes(), 98);
    abc1.merge(C);
    const bc = ORMap.fromBytes(B, 97);
    bc.merge(C);
    const abc2 = ORMap.fromBytes(A, 97);
    abc2.merge(bc.toBytes());
    assert.equal(hex(abc1.toBytes()), hex(abc2.toBytes()), `(a⊔b)⊔c = a⊔(b⊔c), seed ${seed}`);
    assert.equal(join(A, A, A), join(A), `idempotent, seed ${seed}`);
    const lag = ORMap.fromBytes(C, 3);
    lag.merge(a.deltaSince(lag.version()));
    const full = ORMap.fromBytes(C, 3);
    full.merge(A);
    assert.equal(hex(lag.toBytes()), hex(full.toBytes()), `deltaSince catches up, seed ${seed}`);
  }
});

// ----- a cart through one SyncSession per document, lossy channel -----

test('a cart syncs between three sessions (one per document) over a lossy, reordering channel', () => {
  const r = rng(7);
  const ids = [1n, 2n, 3n];
  const sessions = ids.map((id) => new SyncSession('ORMap', { replicaId: id }));
  for (const s of sessions) for (const id of ids) if (id !== s.replicaId) s.addNeighbour(id);
  const events = [];
  sessions[1].replica.onChange((e) => events.push(e));
  let queue = [];
  const pump = () => {
    sessions.forEach((s, i) => {
      for (const t of s.drainTransmits()) {
        if (r() < 0.3) continue; // lost
        queue.push({ from: ids[i], to: t.to, bytes: t.bytes });
        if (r() < 0.1) queue.push({ from: ids[i], to: t.to, bytes: t.bytes }); // duplicated
      }
    });
    queue.sort(() => r() - 0.5);
    const now = queue;
    queue = [];
    for (const m of now) sessions[ids.indexOf(m.to)].handleMessage(m.from, m.bytes);
  };
  const carts = sessions.map((s) => s.replica);
  assert.ok(carts[0] instanceof ORMap);
  carts[0].map('alice').counter('milk').inc(2);
  carts[1].map('bob').counter('eggs').inc(12);
  carts[2].map('alice').lww('note').set('ring twice');
  for (let round = 0; round < 40; round++) {
    if (round === 5) carts[0].remove('bob');
    if (round === 5) carts[1].map('bob').counter('eggs').dec(2);
    sessions.forEach((s) => s.tick());
    pump();
  }
  // Quiet rounds with no loss settle the rest.
  for (let round = 0; round < 10; round++) {
    sessions.forEach((s) => s.tick());
    for (let k = 0; k < 3; k++) {
      sessions.forEach((s, i) => {
        for (const t of s.drainTransmits()) sessions[ids.indexOf(t.to)].handleMessage(ids[i], t.bytes);
      });
    }
  }
  const json = carts.map((c) => JSON.stringify(c.toJSON()));
  assert.equal(json[0], json[1]);
  assert.equal(json[1], json[2]);
  assert.equal(carts[0].map('alice').counter('milk').value, 2);
  assert.equal(carts[0].map('alice').lww('note').value, 'ring twice');
  const merged = events.filter((e) => !e.local);
  assert.ok(merged.length > 0 && merged.every((e) => e.origin === 1n || e.origin === 3n), 'origin is the neighbour');
  assert.ok(merged.some((e) => e.paths.some((p) => p[0] === 'alice')));
});

test('CausalCounter, EWFlag and BoundedCounter sync through SyncSession', () => {
  for (const kind of ['CausalCounter', 'EWFlag', 'BoundedCounter']) {
    const a = new SyncSession(kind, { replicaId: 1n });
    const b = new SyncSession(kind, { replicaId: 2n });
    a.addNeighbour(2n);
    b.addNeighbour(1n);
    if (kind === 'EWFlag') a.replica.enable();
    else {
      a.replica.inc(5);
      b.replica.inc(2);
    }
    const origins = [];
    b.replica.onChange((e) => origins.push(e.origin));
    for (let r = 0; r < 4; r++) {
      a.tick();
      b.tick();
      for (let i = 0; i < 3; i++) {
        for (const t of a.drainTransmits()) b.handleMessage(1n, t.bytes);
        for (const t of b.drainTransmits()) a.handleMessage(2n, t.bytes);
      }
    }
    assert.equal(hex(a.replica.toBytes()), hex(b.replica.toBytes()), kind);
    assert.equal(a.replica.value, kind === 'EWFlag' ? true : 7, kind);
    assert.ok(origins.length > 0 && origins.every((o) => o === 1n), kind);
  }
});

test('ORMap: an LWW field tells its writer and wall time, a register its siblings', () => {
  const a = new ORMap(1, { now: () => 1_000 });
  const b = new ORMap(2, { now: () => 2_000 });
  const note = a.lww('note');
  assert.equal(note.timestampMs, undefined);
  assert.equal(note.writer, undefined);
  note.set('x');
  assert.equal(note.timestampMs, 1_000);
  assert.equal(note.writer, 1n);
  b.lww('note').set('y');
  sync(a, b);
  // The later write wins on both, and both report it.
  for (const m of [a, b]) {
    assert.equal(m.lww('note').value, 'y');
    assert.equal(m.lww('note').timestampMs, 2_000);
    assert.equal(m.lww('note').writer, 2n);
  }
  assert.equal(a.map('deep').lww('x').writer, undefined, 'absent: nothing');

  a.register('title').set('A');
  b.register('title').set('B');
  sync(a, b);
  const sa = a.register('title').siblings();
  assert.deepEqual(sa, b.register('title').siblings());
  assert.deepEqual(sa.map((s) => s.value), a.register('title').values());
  assert.deepEqual(
    sa.map((s) => `${s.replica}:${s.value}`).sort(),
    ['1:A', '2:B'],
  );
  for (const s of sa) assert.equal(typeof s.seq, 'bigint');
  a.register('title').set('C');
  assert.deepEqual(a.register('title').siblings().map((s) => [s.replica, s.value]), [[1n, 'C']]);
  assert.deepEqual(a.register('nothing').siblings(), []);
  assert.deepEqual(a.counter('n').value, 0);
});

test('the TS list of kinds is the wasm one', () => {
  // The wasm side lists its kinds in the error for an unknown one.
  let message = '';
  try {
    new WasmReplica('Nope', 1n);
  } catch (e) {
    message = e.message;
  }
  const names = /expected one of: ([^)]*)\)/.exec(message)?.[1]?.split(' ');
  assert.ok(names, message);
  assert.deepEqual(Object.keys(KINDS), names);
  for (const [name, cls] of Object.entries(KINDS)) assert.equal(cls.name, name);
});
