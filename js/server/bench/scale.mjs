// Scale figures of the sync server over Redis Streams and PostgreSQL (not asserted anywhere):
//   1. updates per second held by 1, 2 and 3 instances (writers spread over them; the time
//      counts until every instance holds every update);
//   2. bytes between instances per update, against the size of the update's delta;
//   3. time for a restarted instance to catch up on a room of 100,000 elements;
//   4. streams against pub/sub: messages a subscriber misses while it restarts.
// Run through scripts/bench-scale (starts PostgreSQL and redis-server); writes
// bench/SCALE.md and bench/scale.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { ORSet } from 'deltacrdt/sync';
import { Doc, WebSocketProvider } from 'deltacrdt-provider';
import { spawnServer, waitFor } from '../test/helpers.mjs';

const { PG_URL, REDIS_URL } = process.env;
if (!PG_URL || !REDIS_URL) throw new Error('PG_URL and REDIS_URL must be set (run scripts/bench-scale)');
const here = path.dirname(fileURLToPath(import.meta.url));
const run = `bench${Date.now().toString(36)}`;
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const WRITERS = 6;
const LOAD_MS = 8000;

/** @param {string} name @param {number} [port] */
const instance = (name, port = 0) => spawnServer(['--port', String(port), '--pg', PG_URL, '--redis', REDIS_URL, '--instance', `${run}-${name}`, '--no-demo', '--messages-per-second', '100000']);

/** @param {number} port */
async function clusterBytes(port) {
  const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /deltacrdt_cluster_io_bytes_total\{network_io_direction="transmit"\} (\d+)/.exec(t);
  return m ? Number(m[1]) : 0;
}

/** @param {number} port @param {string} room */
async function sizeOn(port, room) {
  const res = await fetch(`http://127.0.0.1:${port}/rooms/${encodeURIComponent(room)}`);
  if (res.status !== 200) return -1;
  const s = ORSet.fromBytes(new Uint8Array(await res.arrayBuffer()));
  const n = s.size;
  s.free();
  return n;
}

/** Figures 1 and 2 for `n` instances. */
async function throughput(n) {
  const insts = [];
  for (let i = 0; i < n; i++) insts.push(await instance(`tp${n}-${i}`));
  const room = `${run}/tp${n}`;
  const writers = [];
  for (let w = 0; w < WRITERS; w++) {
    const doc = new Doc('ORSet', { tickMs: 50 });
    const provider = new WebSocketProvider(`ws://127.0.0.1:${insts[w % n]?.port}`, room, doc, { WebSocket, share: `w${w}` });
    writers.push({ doc, provider });
  }
  await waitFor(() => writers.every((w) => w.provider.synced), 20_000, 'writers join');
  // Readers of every instance's room replica (an instance only holds rooms someone joined).
  const probes = insts.map((x) => new WebSocketProvider(`ws://127.0.0.1:${x.port}`, room, new Doc('ORSet'), { WebSocket, share: 'probe' }));
  await waitFor(() => probes.every((p) => p.synced), 20_000, 'probes join');
  const before = await Promise.all(insts.map((x) => clusterBytes(x.port)));
  let updates = 0;
  let deltaBytes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < LOAD_MS) {
    for (let w = 0; w < writers.length; w++) {
      const doc = /** @type {Doc<'ORSet'>} */ (writers[w]?.doc);
      const v = doc.session.version();
      doc.replica.add(`w${w}-${updates}`);
      if (updates % 64 === 0) deltaBytes += doc.session.deltaSince(v).length * 64;
      updates++;
    }
    // Let the sockets and the docs run: about 6 updates per millisecond offered.
    await sleep(1);
  }
  await waitFor(async () => (await Promise.all(insts.map((x) => sizeOn(x.port, room)))).every((s) => s === updates), 120_000, 'every instance holds every update', 100);
  const secs = (performance.now() - t0) / 1000;
  const after = await Promise.all(insts.map((x) => clusterBytes(x.port)));
  const between = after.reduce((a, b, i) => a + b - (before[i] ?? 0), 0);
  for (const w of writers) w.provider.destroy();
  for (const p of probes) p.destroy();
  for (const x of insts) await x.kill();
  return { instances: n, updates, seconds: +secs.toFixed(2), updatesPerSecond: Math.round(updates / secs), bytesBetweenPerUpdate: +(between / updates).toFixed(1), deltaBytesPerUpdate: +(deltaBytes / updates).toFixed(1) };
}

/** Figure 3: a restarted instance catching up on a room of 100,000 elements. */
async function catchUp() {
  const a = await instance('cu-a');
  let b = await instance('cu-b');
  const room = `${run}/big`;
  const doc = new Doc('ORSet', { tickMs: 50 });
  const provider = new WebSocketProvider(`ws://127.0.0.1:${a.port}`, room, doc, { WebSocket, share: 'big' });
  const probeB = new WebSocketProvider(`ws://127.0.0.1:${b.port}`, room, new Doc('ORSet'), { WebSocket, share: 'probe' });
  await waitFor(() => provider.synced && probeB.synced, 20_000, 'join');
  const N = 100_000;
  for (let i = 0; i < N; i += 1000) {
    for (let j = i; j < i + 1000; j++) doc.replica.add(`e${j}`);
    await doc.flush();
    await sleep(5);
  }
  await waitFor(async () => (await sizeOn(b.port, room)) === N, 180_000, 'B holds the 100,000 elements', 200);
  probeB.destroy();
  const bPort = b.port;
  await b.kill('SIGKILL');
  // While B is down: 1,000 more elements through A.
  for (let j = N; j < N + 1000; j++) doc.replica.add(`e${j}`);
  await waitFor(() => provider.synced, 20_000, 'A holds them');
  const aBefore = await clusterBytes(a.port);
  const stateBytes = (await (await fetch(`http://127.0.0.1:${a.port}/rooms/${encodeURIComponent(room)}`)).arrayBuffer()).byteLength;
  const t0 = performance.now();
  b = await instance('cu-b', bPort);
  const started = performance.now() - t0;
  // The room is loaded from PostgreSQL by the first request and catches up through its inbox.
  await waitFor(async () => (await sizeOn(b.port, room)) === N + 1000, 120_000, 'B catches up', 50);
  const caughtUp = performance.now() - t0;
  const catchUpBytes = (await clusterBytes(a.port)) - aBefore;
  provider.destroy();
  await a.kill();
  await b.kill();
  return { elements: N, missedWhileDown: 1000, processStartMs: Math.round(started), catchUpMs: Math.round(caughtUp), note: 'from spawn to the restarted instance holding all 101,000 elements (PostgreSQL load + inbox + digest)', bytesFromAForCatchUp: catchUpBytes, roomStateBytes: stateBytes };
}

/** Figure 4: a subscriber that restarts for 300 ms in the middle of 1,000 messages. */
async function streamsVsPubsub() {
  const pub = new Redis(REDIS_URL);
  const total = 1000;
  // Pub/sub.
  let sub = new Redis(REDIS_URL);
  let got = 0;
  const chan = `${run}:chan`;
  const onMsg = () => got++;
  await sub.subscribe(chan);
  sub.on('message', onMsg);
  for (let i = 0; i < total; i++) {
    if (i === 400) {
      sub.disconnect();
      setTimeout(async () => {
        sub = new Redis(REDIS_URL);
        await sub.subscribe(chan);
        sub.on('message', onMsg);
      }, 300);
    }
    await pub.publish(chan, String(i));
    await sleep(1);
  }
  await sleep(300);
  const pubsubGot = got;
  sub.disconnect();
  // Streams: the reader resumes from the last id it read.
  const stream = `${run}:stream`;
  let last = '0-0';
  let sgot = 0;
  let reading = true;
  let paused = false;
  const reader = (async () => {
    let r = new Redis(REDIS_URL);
    while (reading) {
      if (paused) {
        r.disconnect();
        await sleep(300);
        r = new Redis(REDIS_URL);
        paused = false;
      }
      const res = /** @type {any} */ (await r.xread('COUNT', 100, 'BLOCK', 50, 'STREAMS', stream, last).catch(() => null));
      if (!res) continue;
      for (const [, entries] of res) for (const [id] of entries) {
        last = id;
        sgot++;
      }
    }
    r.disconnect();
  })();
  for (let i = 0; i < total; i++) {
    if (i === 400) paused = true;
    await pub.xadd(stream, '*', 'i', String(i));
    await sleep(1);
  }
  await waitFor(() => sgot === total, 10_000, 'the stream reader gets everything').catch(() => {});
  reading = false;
  await reader;
  await pub.del(stream);
  pub.disconnect();
  return { messages: total, restartMs: 300, pubsubReceived: pubsubGot, pubsubLost: total - pubsubGot, streamsReceived: sgot, streamsLost: total - sgot };
}

const results = { date: new Date().toISOString(), cpus: (await import('node:os')).cpus().length, throughput: [], catchUp: {}, streamsVsPubsub: {} };
for (const n of [1, 2, 3]) {
  const r = await throughput(n);
  console.log(r);
  /** @type {any[]} */ (results.throughput).push(r);
}
results.streamsVsPubsub = await streamsVsPubsub();
console.log(results.streamsVsPubsub);
results.catchUp = await catchUp();
console.log(results.catchUp);
fs.writeFileSync(path.join(here, 'scale.json'), `${JSON.stringify(results, null, 2)}\n`);
const tp = /** @type {any[]} */ (results.throughput);
const cu = /** @type {any} */ (results.catchUp);
const sp = /** @type {any} */ (results.streamsVsPubsub);
const md = `# Scale figures (bench/scale.mjs)

Measured by \`scripts/bench-scale\` on ${results.date.slice(0, 10)}, on this machine (${results.cpus} cores shared by the
instances, PostgreSQL, redis-server and the load generator, which all run here): figures of one machine, to compare
configurations with each other, not capacities of a deployment.

## Updates held by 1, 2 and 3 instances

${WRITERS} writer clients spread over the instances (round robin), each adding ORSet elements as fast as the load loop
offers them for ${LOAD_MS / 1000} s; the time runs until every instance's replica (PostgreSQL-backed) holds every update.
The writers run in the benchmark's own process, on the same cores as the instances: the load loop slows down as the
instances take CPU, so these are the updates the whole machine held, not an instance's ceiling. Every instance
applies and commits every update of a room it serves, so on one machine more instances hold fewer updates per second;
scale-out adds capacity when the instances run on their own machines (connections, fan-out to clients, rooms spread
over instances), not by splitting one room's writes.

| instances | updates | seconds | updates/s | bytes between instances per update | delta bytes per update |
|---|---|---|---|---|---|
${tp.map((r) => `| ${r.instances} | ${r.updates} | ${r.seconds} | ${r.updatesPerSecond} | ${r.bytesBetweenPerUpdate} | ${r.deltaBytesPerUpdate} |`).join('\n')}

"Bytes between instances" are the session message payloads written to Redis (XADD), over all instances; with one
instance there is no other instance to send to. "Delta bytes" is the size of one update's delta as the writer's
session encodes it (sampled every 64th update). A session sends the join of the changes since its last round, so
under load one message carries many updates: the bytes between instances per update can be below the update's own
delta.

## A restarted instance catching up on a room of ${cu.elements.toLocaleString('en')} elements

Instance B holds the room, is SIGKILLed, ${cu.missedWhileDown} elements are added through A meanwhile, and B restarts:
process start ${cu.processStartMs} ms; holding all ${(cu.elements + cu.missedWhileDown).toLocaleString('en')} elements
${cu.catchUpMs} ms after the spawn (the room loaded from PostgreSQL, its inbox read from the stored position, digest
catch-up for the rest). Bytes A sent B through Redis from the restart to the catch-up: ${cu.bytesFromAForCatchUp}, against
${cu.roomStateBytes} bytes for the room's whole state.

## Streams against pub/sub

A subscriber restarts for ${sp.restartMs} ms in the middle of ${sp.messages} messages (one per millisecond):

| transport | received | lost |
|---|---|---|
| Redis pub/sub | ${sp.pubsubReceived} | ${sp.pubsubLost} |
| Redis Streams (XREAD from the last id read) | ${sp.streamsReceived} | ${sp.streamsLost} |

A pub/sub message published while the subscriber is away is gone: a pub/sub scale-out must then resend whole
documents (or wait for the next digest round for every room, for every restart). A stream entry waits for its reader.
`;
fs.writeFileSync(path.join(here, 'SCALE.md'), md);
console.log(md);
process.exit(0);
