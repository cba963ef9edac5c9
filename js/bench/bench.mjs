// Node benchmarks of the deltacrdt npm package against yjs, @automerge/automerge, loro-crdt and
// (where it has the type) the `crdts` npm package, on the equal workloads of issue 4.
//
// Usage: cd js/bench && npm ci && node bench.mjs [--quick] [--no-large]
// Besides the workloads of issue 4, the rows of issue 11: the per-operation cost of inc and of a
// set add against crdts (npm), and one addAll of 1,000,000 elements in wasm against native.
// Our package is imported from the built files in js/dist (run scripts/build-wasm first); if
// they are missing, the peers still run and the report says ours is missing.
//
// Every workload is also checked: each library must end in the same observable state (same
// counter value, same set size, same register value), so the rows compare equal work.
import { Bench } from 'tinybench';
import * as Y from 'yjs';
import * as A from '@automerge/automerge';
import { LoroDoc } from 'loro-crdt';
import * as NpmCrdts from 'crdts';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { execSync } from 'node:child_process';
import { render } from './render.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');

// ---- the workloads' sizes (issue 4) --------------------------------------------------------
const REPLICAS = 10;
const INCREMENTS = quick ? 1_000 : 10_000;
const ADDS = quick ? 1_000 : 10_000;
const REMOVES = ADDS / 10;
const WRITES = 1_000;
// The per-operation rows: one replica, no merge.
const OP_INCREMENTS = quick ? 10_000 : 100_000;
const OP_ADDS = quick ? 1_000 : 10_000;
// The large-set row: one addAll in wasm, against the same call in native Rust.
const LARGE = quick ? 100_000 : 1_000_000;
const item = (i) => `item-${i}`;

// ---- our package ---------------------------------------------------------------------------
let ours = null;
let oursError = '';
// DELTACRDT_DIST: another build of the package's dist/ folder (default: js/dist).
const distDir = process.env.DELTACRDT_DIST ?? join(here, '..', 'dist');
const oursEntry = join(distDir, 'node.js');
if (existsSync(oursEntry)) {
  try {
    ours = await import(oursEntry);
  } catch (e) {
    oursError = `js/dist/node.js failed to load: ${e.message}`;
  }
} else {
  oursError = 'js/dist is not built (run scripts/setup-js and scripts/build-wasm)';
}

// ---- wasm sizes (measured now, from the build that was just loaded) ------------------------
function wasmSize(path) {
  if (!path || !existsSync(path)) return null;
  const b = readFileSync(path);
  return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length };
}
function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}
const wasm = [
  { lib: 'deltacrdt', version: JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')).version, size: wasmSize(join(distDir, 'wasm', 'deltacrdt_wasm_bg.wasm')) },
  { lib: 'yjs', version: pkgVersion('yjs'), size: null, note: 'pure JavaScript, no wasm' },
  { lib: '@automerge/automerge', version: pkgVersion('@automerge/automerge'), size: wasmSize(join(here, 'node_modules', '@automerge', 'automerge', 'dist', 'automerge.wasm')) },
  { lib: 'loro-crdt', version: pkgVersion('loro-crdt'), size: wasmSize(join(here, 'node_modules', 'loro-crdt', 'nodejs', 'loro_wasm_bg.wasm')) },
  { lib: 'crdts', version: pkgVersion('crdts'), size: null, note: 'pure JavaScript, no wasm' },
];

function check(cond, what) {
  if (!cond) throw new Error(`workload check failed: ${what}`);
}

const hexActor = (i) => i.toString(16).padStart(32, '0');

// ---- each library's implementation of each workload ---------------------------------------
// A workload function runs the whole workload once and returns what the checks and the size
// rows need. Libraries without the type have no entry.

const counter = {
  ours() {
    const rs = Array.from({ length: REPLICAS }, (_, i) => new ours.GCounter(BigInt(i + 1)));
    for (const r of rs) for (let k = 0; k < INCREMENTS; k++) r.inc(1);
    for (const r of rs.slice(1)) rs[0].merge(r.toBytes());
    const v = rs[0].value;
    for (const r of rs) r.free();
    return v;
  },
  automerge() {
    const base = A.from({ c: new A.Counter(0) }, { actor: hexActor(999) });
    const rs = Array.from({ length: REPLICAS }, (_, i) => A.clone(base, { actor: hexActor(i + 1) }));
    for (let i = 0; i < rs.length; i++) {
      for (let k = 0; k < INCREMENTS; k++) rs[i] = A.change(rs[i], (d) => d.c.increment(1));
    }
    let m = rs[0];
    for (const r of rs.slice(1)) m = A.merge(m, A.load(A.save(r)));
    return m.c.value;
  },
  loro() {
    const rs = Array.from({ length: REPLICAS }, (_, i) => {
      const d = new LoroDoc();
      d.setPeerId(BigInt(i + 1));
      return d;
    });
    for (const r of rs) {
      const c = r.getCounter('c');
      for (let k = 0; k < INCREMENTS; k++) {
        c.increment(1);
        r.commit();
      }
    }
    for (const r of rs.slice(1)) rs[0].import(r.export({ mode: 'snapshot' }));
    return rs[0].getCounter('c').value;
  },
  crdts() {
    const rs = Array.from({ length: REPLICAS }, (_, i) => new NpmCrdts.GCounter(`r${i + 1}`));
    for (const r of rs) for (let k = 0; k < INCREMENTS; k++) r.increment(1);
    for (const r of rs.slice(1)) rs[0].merge(NpmCrdts.GCounter.from(JSON.parse(JSON.stringify(r.toJSON()))));
    return rs[0].value;
  },
};

// The set workload: ADDS adds of "item-<i>", then REMOVES removes, each operation committed on
// its own (Yjs: one implicit transaction per call; Automerge: one change; Loro: commit()).
// Yjs and Automerge have no set type: a map keyed by the element is their idiomatic set.
const set = {
  ours() {
    const s = new ours.ORSet(1n);
    for (let i = 0; i < ADDS; i++) s.add(item(i));
    for (let i = 0; i < REMOVES; i++) s.remove(item(i));
    return { size: s.size, doc: s };
  },
  yjs() {
    const doc = new Y.Doc();
    doc.clientID = 1;
    const m = doc.getMap('s');
    for (let i = 0; i < ADDS; i++) m.set(item(i), true);
    for (let i = 0; i < REMOVES; i++) m.delete(item(i));
    return { size: m.size, doc };
  },
  automerge() {
    let doc = A.from({ s: {} }, { actor: hexActor(1) });
    for (let i = 0; i < ADDS; i++) doc = A.change(doc, (d) => { d.s[item(i)] = true; });
    for (let i = 0; i < REMOVES; i++) doc = A.change(doc, (d) => { delete d.s[item(i)]; });
    return { size: Object.keys(doc.s).length, doc };
  },
  loro() {
    const doc = new LoroDoc();
    doc.setPeerId(1n);
    const m = doc.getMap('s');
    for (let i = 0; i < ADDS; i++) {
      m.set(item(i), true);
      doc.commit();
    }
    for (let i = 0; i < REMOVES; i++) {
      m.delete(item(i));
      doc.commit();
    }
    return { size: m.size, doc };
  },
  crdts() {
    const s = new NpmCrdts.ORSet();
    for (let i = 0; i < ADDS; i++) s.add(item(i), `1:${i}`);
    for (let i = 0; i < REMOVES; i++) s.remove(item(i));
    return { size: s.toArray().length, doc: s };
  },
};

// Full state of the set after the set workload, loading it into a fresh replica, and the
// catch-up update a second replica (in sync until then) needs after one more add.
const setState = {
  ours: {
    encode: (s) => s.toBytes(),
    load: (b) => { const s = ours.ORSet.fromBytes(b, 2n); const n = s.size; s.free(); return n; },
    catchUp(s) {
      const other = ours.ORSet.fromBytes(s.toBytes(), 2n);
      s.add(item(ADDS));
      const update = s.deltaSince(other.version());
      other.merge(update);
      check(other.size === s.size && other.has(item(ADDS)), 'ours catch-up');
      other.free();
      return update.length;
    },
  },
  yjs: {
    encode: (doc) => Y.encodeStateAsUpdate(doc),
    load: (b) => { const d = new Y.Doc(); Y.applyUpdate(d, b); return d.getMap('s').size; },
    catchUp(doc) {
      const other = new Y.Doc();
      Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
      doc.getMap('s').set(item(ADDS), true);
      const update = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other));
      Y.applyUpdate(other, update);
      check(other.getMap('s').size === doc.getMap('s').size, 'yjs catch-up');
      return update.length;
    },
  },
  automerge: {
    encode: (doc) => A.save(doc),
    load: (b) => Object.keys(A.load(b).s).length,
    catchUp(doc) {
      const other = A.load(A.save(doc), { actor: hexActor(2) });
      const next = A.change(doc, (d) => { d.s[item(ADDS)] = true; });
      const update = A.saveSince(next, A.getHeads(other));
      const caught = A.loadIncremental(other, update);
      check(Object.keys(caught.s).length === Object.keys(next.s).length, 'automerge catch-up');
      return update.length;
    },
  },
  loro: {
    encode: (doc) => doc.export({ mode: 'snapshot' }),
    load: (b) => { const d = new LoroDoc(); d.import(b); return d.getMap('s').size; },
    catchUp(doc) {
      const other = new LoroDoc();
      other.import(doc.export({ mode: 'snapshot' }));
      doc.getMap('s').set(item(ADDS), true);
      doc.commit();
      const update = doc.export({ mode: 'update', from: other.oplogVersion() });
      other.import(update);
      check(other.getMap('s').size === doc.getMap('s').size, 'loro catch-up');
      return update.length;
    },
  },
};

// The register workload: WRITES writes by one replica, then the encoded state.
const register = {
  ours() {
    let t = 1_700_000_000_000;
    const r = new ours.LWWRegister(1n, { now: () => t++ });
    for (let i = 0; i < WRITES; i++) r.set(i);
    check(r.value === WRITES - 1, 'ours register');
    const n = r.toBytes().length;
    r.free();
    return n;
  },
  yjs() {
    const doc = new Y.Doc();
    doc.clientID = 1;
    const m = doc.getMap('r');
    for (let i = 0; i < WRITES; i++) m.set('v', i);
    check(m.get('v') === WRITES - 1, 'yjs register');
    return Y.encodeStateAsUpdate(doc).length;
  },
  automerge() {
    let doc = A.from({ v: -1 }, { actor: hexActor(1) });
    for (let i = 0; i < WRITES; i++) doc = A.change(doc, (d) => { d.v = i; });
    check(doc.v === WRITES - 1, 'automerge register');
    return A.save(doc).length;
  },
  loro() {
    const doc = new LoroDoc();
    doc.setPeerId(1n);
    const m = doc.getMap('r');
    for (let i = 0; i < WRITES; i++) {
      m.set('v', i);
      doc.commit();
    }
    check(m.get('v') === WRITES - 1, 'loro register');
    return doc.export({ mode: 'snapshot' }).length;
  },
};

// ---- running -------------------------------------------------------------------------------
const LIBS = ['ours', 'yjs', 'automerge', 'loro', 'crdts'];
const LABEL = { ours: 'deltacrdt', yjs: 'yjs', automerge: 'automerge', loro: 'loro-crdt', crdts: 'crdts (npm)' };
const available = (lib) => lib !== 'ours' || ours !== null;

// Automerge takes about a millisecond per change here (one change per operation, as for
// every library), so its long workloads run once, without a warm-up run, instead of `iterations` times.
const SLOW = { automerge: 1 };

async function timeIt(id, fns, iterations) {
  const out = {};
  for (const [lib, fn] of Object.entries(fns)) {
    if (!available(lib)) continue;
    const n = SLOW[lib] ?? iterations;
    const bench = new Bench({ iterations: n, time: 0, warmup: n > 1, warmupIterations: 1, warmupTime: 0 });
    bench.add(lib, fn);
    const t0 = performance.now();
    await bench.run();
    const [t] = bench.tasks;
    if (t.result.state !== 'completed') throw new Error(`${id}/${lib}: ${t.result.error?.stack ?? t.result.state}`);
    out[lib] = t.result.latency.p50 ?? t.result.latency.mean;
    console.error(`  ${id} ${LABEL[lib]}: ${out[lib].toFixed(2)} ms (median of ${n}; ${((performance.now() - t0) / 1000).toFixed(1)} s in all)`);
  }
  return out;
}

const rows = [];
function addRow(id, name, unit, values) {
  rows.push({ id, name, unit, values });
}

const iterations = quick ? 3 : 5;
console.error(`running${quick ? ' (quick)' : ''}: ${REPLICAS} x ${INCREMENTS} increments, ${ADDS} adds + ${REMOVES} removes, ${WRITES} writes`);
if (!ours) console.error(`deltacrdt: ${oursError}`);

// Every timed run checks its result, so a library that did less work fails the bench.
const counterExpect = REPLICAS * INCREMENTS;
const checkedCounter = Object.fromEntries(
  Object.entries(counter).map(([lib, fn]) => [lib, () => check(Number(fn()) === counterExpect, `${lib} counter = ${counterExpect}`)]),
);
addRow('counter', `counter: ${REPLICAS} replicas x ${INCREMENTS} increments, then one merges the rest`, 'ms', await timeIt('counter', checkedCounter, iterations));

// The last run's final set of each library feeds the size, load and catch-up rows.
const finals = {};
const checkedSet = Object.fromEntries(
  Object.entries(set).map(([lib, fn]) => [
    lib,
    () => {
      const r = fn();
      check(r.size === ADDS - REMOVES, `${lib} set size ${r.size} = ${ADDS - REMOVES}`);
      if (lib === 'ours' && finals.ours) finals.ours.free();
      finals[lib] = r.doc;
    },
  ]),
);
addRow('set', `set: ${ADDS} adds of "item-<i>", then ${REMOVES} removes`, 'ms', await timeIt('set', checkedSet, iterations));

const stateBytes = {};
const sizeValues = {};
for (const [lib, s] of Object.entries(setState)) {
  if (!available(lib)) continue;
  stateBytes[lib] = s.encode(finals[lib]);
  sizeValues[lib] = stateBytes[lib].length;
}
addRow('state', `set: full state encoded (${ADDS - REMOVES} elements)`, 'bytes', sizeValues);
const loadFns = {};
for (const [lib, s] of Object.entries(setState)) {
  if (available(lib)) loadFns[lib] = () => check(s.load(stateBytes[lib]) === ADDS - REMOVES, `${lib} load`);
}
addRow('load', 'set: load the full state into a fresh replica', 'ms', await timeIt('load', loadFns, iterations * 2));
const catchUp = {};
for (const [lib, s] of Object.entries(setState)) if (available(lib)) catchUp[lib] = s.catchUp(finals[lib]);
addRow('catchup', 'set: catch-up update for a second replica after one more add', 'bytes', catchUp);

const regSizes = {};
const sizedRegister = Object.fromEntries(Object.entries(register).map(([lib, fn]) => [lib, () => { regSizes[lib] = fn(); }]));
addRow('register', `register: ${WRITES} writes`, 'ms', await timeIt('register', sizedRegister, iterations * 2));
addRow('register-size', `register: encoded state after ${WRITES} writes`, 'bytes', regSizes);
if (ours) finals.ours.free();

// ---- per-operation cost against plain JavaScript (crdts) ----------------------------------
const perOp = (ms, n) => (ms * 1e6) / n;
const incFns = {
  ours() {
    const c = new ours.GCounter(1n);
    for (let k = 0; k < OP_INCREMENTS; k++) c.inc(1);
    check(c.value === OP_INCREMENTS, 'ours inc');
    c.free();
  },
  crdts() {
    const c = new NpmCrdts.GCounter('r1');
    for (let k = 0; k < OP_INCREMENTS; k++) c.increment(1);
    check(c.value === OP_INCREMENTS, 'crdts inc');
  },
};
const incMs = await timeIt('inc', incFns, iterations * 2);
addRow('inc', `inc: ns per increment (${OP_INCREMENTS} on one counter)`, 'ns/op', Object.fromEntries(Object.entries(incMs).map(([k, v]) => [k, perOp(v, OP_INCREMENTS)])));
const addFns = {
  ours() {
    const s = new ours.ORSet(1n);
    for (let i = 0; i < OP_ADDS; i++) s.add(item(i));
    check(s.size === OP_ADDS, 'ours add');
    s.free();
  },
  crdts() {
    const s = new NpmCrdts.ORSet();
    for (let i = 0; i < OP_ADDS; i++) s.add(item(i), `1:${i}`);
    check(s.toArray().length === OP_ADDS, 'crdts add');
  },
};
const addMs = await timeIt('add', addFns, iterations * 2);
addRow('add', `set add: ns per add (${OP_ADDS} adds of "item-<i>" to one set)`, 'ns/op', Object.fromEntries(Object.entries(addMs).map(([k, v]) => [k, perOp(v, OP_ADDS)])));

// ---- one addAll of a large set: wasm against native ---------------------------------------
let large = null;
if (ours && !process.argv.includes('--no-large')) {
  const items = Array.from({ length: LARGE }, (_, i) => item(i));
  const s = new ours.ORSet(1n);
  const t0 = performance.now();
  s.addAll(items);
  const wasmMs = performance.now() - t0;
  check(s.size === LARGE, 'ours addAll');
  // The wasm memory after the call (it never shrinks): the state, its delta group and what
  // the allocator keeps free. Already initialized by the entry: this returns the live exports.
  const { initSync } = await import(join(distDir, 'wasm', 'deltacrdt_wasm.js'));
  const memoryMiB = initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength / 2 ** 20;
  s.free();
  console.error(`  addAll ${LARGE} deltacrdt (wasm): ${wasmMs.toFixed(0)} ms, wasm memory ${memoryMiB.toFixed(0)} MiB`);
  // The same call natively: bindings/wasm/examples/add_all.rs times ORSet::add_all of the same
  // encoded elements (release build; its compile time is not counted).
  let nativeMs = null;
  try {
    const out = execSync(`cargo run --quiet --release -p deltacrdt-wasm --example add_all -- ${LARGE}`, {
      cwd: join(here, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    nativeMs = Number(out.toString().trim());
    console.error(`  addAll ${LARGE} native: ${nativeMs.toFixed(0)} ms`);
  } catch (e) {
    console.error(`  addAll native: not measured (${e.message})`);
  }
  large = { n: LARGE, wasmMs, nativeMs, memoryMiB };
}

// ---- report --------------------------------------------------------------------------------
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  date: new Date().toISOString().slice(0, 16).replace('T', ' '),
  load: os.loadavg().map((l) => l.toFixed(2)).join(', '),
  commit: (() => {
    try {
      return execSync('git rev-parse --short HEAD', { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return null;
    }
  })(),
};
const data = { rows, wasm, large, machine, config: { ADDS, REMOVES, quick, iterations }, oursError: ours ? null : oursError };
writeFileSync(join(here, 'results.json'), JSON.stringify(data, null, 2) + '\n');
const md = render(data);
console.log(md);
writeFileSync(join(here, 'RESULTS.md'), md);
console.error(`wrote ${join(here, 'RESULTS.md')} and results.json`);
