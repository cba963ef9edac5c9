// The chaos test: 3 server instances (PostgreSQL storage, Redis Streams between them), 20+
// Node clients and 2 Chromium pages editing carts, while instances are SIGKILLed and
// restarted, redis-server is stopped and restarted, and clients move between instances. At
// the end: every client and every instance replica equals the oracle of every edit made
// (nothing lost), the same after a SIGKILL of every instance and a restart from PostgreSQL,
// and each instance's resident memory stayed under its bound. Prints a summary table.
//
//   node test-scale/chaos.mjs [--short] [--seed N]   (PG_URL, REDIS_URL, SERVICES_DIR set by scripts/chaos)
// Loopback only; every wait is bounded; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { ORSet, PNCounter } from 'deltacrdt/sync';
import { Doc, WebSocketProvider } from 'deltacrdt-provider';
import { launchChromium, openPage, waitFor } from '../test/helpers.mjs';
import { rng, withTimeout } from '../test/util.mjs';

const argv = process.argv.slice(2);
const SHORT = argv.includes('--short');
const seedArg = argv.indexOf('--seed');
const SEED = seedArg >= 0 ? Number(argv[seedArg + 1]) : 7;
const { PG_URL, REDIS_URL, SERVICES_DIR } = process.env;
if (!PG_URL || !REDIS_URL || !SERVICES_DIR) throw new Error('chaos: PG_URL, REDIS_URL and SERVICES_DIR must be set (run scripts/chaos)');

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', 'bin', 'deltacrdt-server.js');
const repo = path.join(here, '..', '..', '..');
const random = rng(SEED);
const run = `chaos${Date.now().toString(36)}`;

const N_INSTANCES = 3;
const N_CLIENTS = SHORT ? 20 : 30;
const N_CARTS = 5;
const EDIT_MS = SHORT ? 30_000 : 120_000;
const TICK_MS = 100;
/** Each instance: V8 old space capped at HEAP_MB; its RSS must stay under RSS_BOUND_MB. */
const HEAP_MB = 192;
const RSS_BOUND_MB = 400;
const t0 = Date.now();
const log = (/** @type {string} */ m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);

// --- Instances -------------------------------------------------------------------------
/**
 * @typedef {object} Inst
 * @property {number} i
 * @property {number} port
 * @property {import('node:child_process').ChildProcess | undefined} child
 * @property {number} peakRssKb
 * @property {Map<number, number>} bytesByPid  cluster bytes sent, per process
 */
/** @type {Inst[]} */
const insts = [];

/**
 * @param {Inst} inst
 */
async function startInstance(inst) {
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, bin, '--port', String(inst.port), '--pg', PG_URL,
    '--redis', REDIS_URL, '--instance', `${run}-${inst.i}`, '--idle-room-ms', '4000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const port = await withTimeout(new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on ws:\/\/[\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`instance ${inst.i} exited (${code}): ${err}`)));
  }), 20_000, `instance ${inst.i} starts`);
  inst.port = Number(port);
  inst.child = child;
}

/** @param {Inst} inst */
function killInstance(inst) {
  const child = inst.child;
  inst.child = undefined;
  return new Promise((r) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return r(undefined);
    child.once('exit', () => r(undefined));
    child.kill('SIGKILL');
  });
}

function sampleMemory() {
  for (const inst of insts) {
    const pid = inst.child?.pid;
    if (!pid) continue;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) inst.peakRssKb = Math.max(inst.peakRssKb, Number(m[1]));
    } catch {
      // The process just died.
    }
  }
}

async function sampleClusterBytes() {
  await Promise.all(insts.map(async (inst) => {
    const pid = inst.child?.pid;
    if (!pid) return;
    try {
      const res = await fetch(`http://127.0.0.1:${inst.port}/metrics`, { signal: AbortSignal.timeout(1000) });
      const m = /deltacrdt_cluster_io_bytes_total\{network_io_direction="transmit"\} (\d+)/.exec(await res.text());
      if (m) inst.bytesByPid.set(pid, Number(m[1]));
    } catch {
      // Down or busy: the next sample.
    }
  }));
}

// --- Clients and the oracle ------------------------------------------------------------
const cartRoom = (/** @type {number} */ k) => `${run}/cart-${k}`;
const pageCart = `${run}-pages`;
const pageItems = `cart/${pageCart}/items`;
const appleRoom = `cart/${pageCart}/qty/apple`;
/** @type {Map<string, Map<string, boolean>>} room -> element -> present */
const oracleSets = new Map();
for (let k = 0; k < N_CARTS; k++) oracleSets.set(cartRoom(k), new Map());
oracleSets.set(pageItems, new Map());
/** @type {Map<string, number>} counter room -> value */
const oracleCounters = new Map([[appleRoom, 0]]);

/**
 * @typedef {object} Client
 * @property {number} i
 * @property {string} room
 * @property {string} kind
 * @property {Doc<any>} doc
 * @property {WebSocketProvider} provider
 * @property {number} inst
 * @property {number} n
 * @property {string[]} mine  own present elements
 */
/** @type {Client[]} */
const clients = [];
let edits = 0;
let editBytes = 0;
let moves = 0;
/** @type {string[]} */
const clientErrors = [];

/**
 * @param {Client} c
 * @param {number} inst
 */
function connect(c, inst) {
  c.inst = inst;
  c.provider = new WebSocketProvider(`ws://127.0.0.1:${insts[inst]?.port}`, c.room, c.doc, { WebSocket, share: `c${c.i}`, minBackoffMs: 50, maxBackoffMs: 500 });
  c.provider.on('error', (e) => {
    if (e.name !== 'REPLACED') clientErrors.push(`${c.i}: ${e.name} ${e.message}`);
  });
}

/** @param {Client} c */
function edit(c) {
  const before = c.doc.session.version();
  if (c.kind === 'PNCounter') {
    const k = 1 + Math.floor(random() * 3);
    c.doc.replica.inc(k);
    oracleCounters.set(c.room, (oracleCounters.get(c.room) ?? 0) + k);
  } else {
    const o = oracleSets.get(c.room);
    assert.ok(o);
    if (c.mine.length > 3 && random() < 0.25) {
      const j = Math.floor(random() * c.mine.length);
      const e = c.mine[j] ?? '';
      c.mine.splice(j, 1);
      c.doc.replica.remove(e);
      o.set(e, false);
    } else {
      const e = `c${c.i}-${++c.n}`;
      c.mine.push(e);
      c.doc.replica.add(e);
      o.set(e, true);
    }
  }
  editBytes += c.doc.session.deltaSince(before).length;
  edits++;
}

/**
 * Whether a replica's state equals the oracle.
 * @param {string} room
 * @param {Uint8Array} state
 */
function matches(room, state) {
  const want = oracleSets.get(room);
  if (want) {
    const s = ORSet.fromBytes(state);
    try {
      for (const [e, present] of want) if (s.has(e) !== present) return false;
      return s.size === [...want.values()].filter(Boolean).length;
    } finally {
      s.free();
    }
  }
  const c = PNCounter.fromBytes(state);
  try {
    return Number(c.value) === oracleCounters.get(room);
  } finally {
    c.free();
  }
}

/**
 * @param {string} room
 * @param {Uint8Array} state
 */
function describe(room, state) {
  const want = oracleSets.get(room);
  if (want) {
    const s = ORSet.fromBytes(state);
    const missing = [...want].filter(([e, p]) => s.has(e) !== p).length;
    const n = s.size;
    s.free();
    return `size ${n}, ${missing} elements differ`;
  }
  const c = PNCounter.fromBytes(state);
  const v = c.value;
  c.free();
  return `value ${v}, want ${oracleCounters.get(room)}`;
}

/**
 * The state of `room` held by instance `inst` (HTTP GET), or undefined.
 * @param {Inst} inst
 * @param {string} room
 */
async function instanceState(inst, room) {
  try {
    const res = await fetch(`http://127.0.0.1:${inst.port}/rooms/${encodeURIComponent(room)}`, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 200) return undefined;
    return new Uint8Array(await res.arrayBuffer());
  } catch {
    return undefined;
  }
}

const allRooms = () => [...oracleSets.keys(), ...oracleCounters.keys()];

async function everyInstanceMatches() {
  for (const inst of insts) {
    for (const room of allRooms()) {
      const st = await instanceState(inst, room);
      if (!st || !matches(room, st)) return false;
    }
  }
  return true;
}

// --- Services -----------------------------------------------------------------------------
/** @param {'redis-stop' | 'redis-start'} what */
function services(what) {
  execFileSync(path.join(repo, 'scripts', 'services'), [what, SERVICES_DIR ?? ''], { stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
}

// --- The run ------------------------------------------------------------------------------
/** @type {Awaited<ReturnType<typeof launchChromium>> | undefined} */
let chromium;
const faults = { sigkills: 0, redisRestarts: 0, clientMoves: 0, pageMoves: 0 };
let failed = false;
const memTimer = setInterval(sampleMemory, 200);
const bytesTimer = setInterval(() => void sampleClusterBytes(), 1000);
try {
  for (let i = 0; i < N_INSTANCES; i++) {
    const inst = { i, port: 0, child: undefined, peakRssKb: 0, bytesByPid: new Map() };
    insts.push(inst);
    await startInstance(inst);
  }
  log(`instances on ports ${insts.map((x) => x.port).join(', ')}`);

  for (let i = 0; i < N_CLIENTS; i++) {
    const counter = i % 10 === 9;
    const kind = counter ? 'PNCounter' : 'ORSet';
    const room = counter ? appleRoom : cartRoom(i % N_CARTS);
    /** @type {Client} */
    const c = { i, room, kind, doc: new Doc(/** @type {any} */ (kind), { tickMs: 50 }), provider: /** @type {any} */ (undefined), inst: 0, n: 0, mine: [] };
    connect(c, i % N_INSTANCES);
    clients.push(c);
  }
  await waitFor(() => clients.every((c) => c.provider.synced), 20_000, 'every client joins');

  chromium = await launchChromium();
  /** @type {string[]} */
  const pageErrors = [];
  const demo = (/** @type {number} */ inst) => `http://127.0.0.1:${insts[inst]?.port}/demo/?cart=${pageCart}&db=${run}`;
  const ctxs = [await chromium.browser.newContext(), await chromium.browser.newContext()];
  const pages = [await openPage(ctxs[0], demo(0), pageErrors), await openPage(ctxs[1], demo(1), pageErrors)];
  const pageInst = [0, 1];
  // A page being moved takes no edits, and its move starts only once its last edit returned:
  // an edit racing with the navigation could be unloaded before the page persisted it, and
  // the oracle would count an edit that no replica ever held.
  const pageMoving = [false, false];
  /** @type {Promise<unknown>[]} */
  const pageInflight = [Promise.resolve(), Promise.resolve()];
  log(`${clients.length} Node clients and ${pages.length} Chromium pages joined`);

  // The fault schedule, in fractions of the edit period.
  /** @type {Array<[number, string, () => Promise<void>]>} */
  const schedule = [];
  const kill = (/** @type {number} */ i, /** @type {number} */ downMs) => async () => {
    await killInstance(/** @type {Inst} */ (insts[i]));
    faults.sigkills++;
    log(`SIGKILL instance ${i}`);
    await new Promise((r) => setTimeout(r, downMs));
    await startInstance(/** @type {Inst} */ (insts[i]));
    log(`instance ${i} restarted`);
  };
  const redisBounce = (/** @type {number} */ downMs) => async () => {
    services('redis-stop');
    log('redis-server stopped');
    await new Promise((r) => setTimeout(r, downMs));
    services('redis-start');
    faults.redisRestarts++;
    log('redis-server restarted');
  };
  const movePage = (/** @type {number} */ p) => async () => {
    const to = ((pageInst[p] ?? 0) + 1) % N_INSTANCES;
    const page = pages[p];
    assert.ok(page);
    pageMoving[p] = true;
    await pageInflight[p];
    // Everything a page holds is in its IndexedDB before it is sent: reloading it on
    // another instance's URL loses nothing.
    await page.evaluate(() => /** @type {any} */ (window).cart.flush());
    await page.goto(demo(to), { timeout: 20_000 });
    await page.waitForFunction(() => /** @type {any} */ (window).ready === true, null, { timeout: 20_000 });
    pageInst[p] = to;
    pageMoving[p] = false;
    faults.pageMoves++;
    log(`page ${p} moved to instance ${to}`);
  };
  const fr = SHORT
    ? [[0.15, 'kill', kill(1, 1500)], [0.35, 'redis', redisBounce(2500)], [0.5, 'page', movePage(0)], [0.6, 'kill', kill(2, 1000)], [0.75, 'kill', kill(0, 500)]]
    : [[0.08, 'kill', kill(1, 2000)], [0.18, 'redis', redisBounce(4000)], [0.25, 'page', movePage(0)], [0.3, 'kill', kill(2, 1000)],
      [0.42, 'kill', kill(0, 3000)], [0.5, 'redis', redisBounce(1500)], [0.55, 'page', movePage(1)], [0.62, 'kill', kill(1, 500)],
      [0.7, 'kill', kill(2, 0)], [0.78, 'redis', redisBounce(3000)], [0.85, 'kill', kill(0, 1500)]];
  for (const [f, name, fn] of /** @type {Array<[number, string, () => Promise<void>]>} */ (fr)) schedule.push([t0 + 0 + f * EDIT_MS, name, fn]);

  const editStart = Date.now();
  for (const s of schedule) s[0] = editStart + (s[0] - t0);
  let lastFaultAt = editStart;
  /** @type {Promise<void>[]} */
  const running = [];
  let pageN = 0;
  const CATALOG = ['apple', 'bread', 'cheese', 'dates', 'eggs', 'flour'];
  while (Date.now() - editStart < EDIT_MS) {
    const now = Date.now();
    while (schedule.length && (schedule[0]?.[0] ?? Infinity) <= now) {
      const [, , fn] = /** @type {[number, string, () => Promise<void>]} */ (schedule.shift());
      running.push(fn().then(() => {
        lastFaultAt = Date.now();
      }));
    }
    for (const c of clients) if (random() < 0.5) edit(c);
    // Client moves: about one every second.
    if (random() < TICK_MS / 1000) {
      const c = clients[Math.floor(random() * clients.length)];
      if (c) {
        c.provider.destroy();
        connect(c, (c.inst + 1 + Math.floor(random() * (N_INSTANCES - 1))) % N_INSTANCES);
        moves++;
        faults.clientMoves++;
      }
    }
    // Pages: one edit each every ~5 ticks (page.evaluate is slow on 2 cores).
    if (++pageN % 5 === 0) {
      for (const [p, page] of pages.entries()) {
        const sku = CATALOG[Math.floor(random() * CATALOG.length)] ?? 'apple';
        if (pageMoving[p]) continue;
        try {
          const op = page.evaluate((s) => /** @type {any} */ (window).cart.add(s), sku);
          pageInflight[p] = op.catch(() => {});
          await op;
          /** @type {Map<string, boolean>} */ (oracleSets.get(pageItems)).set(sku, true);
          if (sku === 'apple') oracleCounters.set(appleRoom, (oracleCounters.get(appleRoom) ?? 0) + 1);
          else {
            const r = `cart/${pageCart}/qty/${sku}`;
            oracleCounters.set(r, (oracleCounters.get(r) ?? 0) + 1);
          }
          edits++;
        } catch (e) {
          // A page in the middle of its move: this edit was not made.
        }
      }
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(running);
  lastFaultAt = Math.max(lastFaultAt, Date.now());
  log(`edits stopped: ${edits} edits; waiting for convergence`);

  // --- Convergence: every client, every page, every instance replica.
  const clientsOk = () => clients.every((c) => {
    const st = c.doc.session.persist();
    return matches(c.room, st) && c.provider.synced;
  });
  await waitFor(clientsOk, 60_000, 'every Node client converges', 200);
  await waitFor(async () => {
    for (const page of pages) {
      const snap = await page.evaluate(() => /** @type {any} */ (window).cart.snapshot());
      const want = [.../** @type {Map<string, boolean>} */ (oracleSets.get(pageItems)).keys()].sort();
      if (JSON.stringify([...snap.items].sort()) !== JSON.stringify(want)) return false;
      for (const sku of want) if (snap.qty[sku] !== oracleCounters.get(`cart/${pageCart}/qty/${sku}`)) return false;
    }
    return true;
  }, 60_000, 'both pages converge', 250);
  // Every instance serves every room (one that no client of it ever joined is created by a
  // probe client, and catches up through the other instances).
  /** @type {WebSocketProvider[]} */
  const probes = [];
  for (const inst of insts) {
    for (const room of allRooms()) {
      const kind = oracleSets.has(room) ? 'ORSet' : 'PNCounter';
      probes.push(new WebSocketProvider(`ws://127.0.0.1:${inst.port}`, room, new Doc(/** @type {any} */ (kind)), { WebSocket, share: 'probe' }));
    }
  }
  await waitFor(everyInstanceMatches, 60_000, 'every instance replica converges', 250);
  for (const p of probes) p.destroy();
  const convergedMs = Date.now() - lastFaultAt;
  log(`converged ${convergedMs} ms after the last fault`);
  await sampleClusterBytes();

  // --- Durability: destroy the clients, SIGKILL every instance, restart from PostgreSQL.
  for (const c of clients) c.provider.destroy();
  await chromium.close();
  chromium = undefined;
  for (const inst of insts) await killInstance(inst);
  faults.sigkills += insts.length;
  for (const inst of insts) await startInstance(inst);
  await waitFor(everyInstanceMatches, 30_000, 'every instance, restarted from PostgreSQL, holds every edit', 250);
  log('after a SIGKILL of every instance, every replica still holds every edit');

  // --- Memory and the table.
  for (const inst of insts) {
    assert.ok(inst.peakRssKb / 1024 < RSS_BOUND_MB, `instance ${inst.i}: peak RSS ${(inst.peakRssKb / 1024).toFixed(0)} MB over the bound ${RSS_BOUND_MB} MB`);
  }
  // Connection failures to a killed instance are the faults themselves; anything else fails.
  assert.deepEqual(pageErrors.filter((e) => !/^WebSocket connection to .* failed/.test(e)), [], 'no page error');
  const between = insts.reduce((n, x) => n + [...x.bytesByPid.values()].reduce((a, b) => a + b, 0), 0);
  const rows = [
    ['mode', SHORT ? 'short' : 'full'],
    ['instances / Node clients / Chromium pages', `${N_INSTANCES} / ${N_CLIENTS} / ${pages.length}`],
    ['edit period', `${EDIT_MS / 1000} s`],
    ['faults: instance SIGKILLs (incl. final all-kill)', String(faults.sigkills)],
    ['faults: redis-server restarts', String(faults.redisRestarts)],
    ['faults: client moves / page moves', `${faults.clientMoves} / ${faults.pageMoves}`],
    ['edits made', String(edits)],
    ['edits lost', '0'],
    ['time to converge after the last fault and the last edit', `${convergedMs} ms`],
    ['bytes between instances (Redis payloads)', String(between)],
    ['bytes of the Node edits (deltas)', String(editBytes)],
    ['ratio between / edits', (between / Math.max(1, editBytes)).toFixed(2)],
    ['peak RSS per instance (bound)', `${insts.map((x) => (x.peakRssKb / 1024).toFixed(0)).join(' / ')} MB (${RSS_BOUND_MB} MB)`],
  ];
  const w = Math.max(...rows.map((r) => (r[0] ?? '').length));
  console.log(`\nchaos summary (seed ${SEED})`);
  for (const [k, v] of rows) console.log(`  ${(k ?? '').padEnd(w)}  ${v}`);
  if (clientErrors.length) console.log(`  client errors seen during the run (recovered): ${clientErrors.length}, first: ${clientErrors[0]}`);
} catch (e) {
  failed = true;
  for (const inst of insts) {
    for (const room of allRooms()) {
      const st = await instanceState(inst, room);
      if (!st) console.error(`instance ${inst.i} ${room}: no state`);
      else if (!matches(room, st)) console.error(`instance ${inst.i} ${room}: differs from the oracle (${describe(room, st)})`);
    }
  }
  console.error('chaos: FAILED:', e instanceof Error ? e.stack : e);
} finally {
  clearInterval(memTimer);
  clearInterval(bytesTimer);
  for (const c of clients) c.provider?.destroy();
  await chromium?.close();
  for (const inst of insts) await killInstance(inst);
}
process.exit(failed ? 1 : 0);
