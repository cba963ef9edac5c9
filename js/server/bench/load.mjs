// Load benchmark (not a test): one deltacrdt-server process (file storage, fsync on) and Node
// clients in this process. Writers make updates at a target aggregate rate spread over rooms
// (ORSet: add a new element, remove the writer's previous one); in each room a probe writer
// adds a probe element 20 times a second and an observer on another connection records when
// it sees it: client-to-client propagation latency. Per load level: the achieved update rate
// (what the server applied, from its change counters), p50/p99/max latency, and the CPU time
// of the server process.
// Usage: node bench/load.mjs [--levels 250,1000,4000,16000] [--seconds 8] [--rooms 8] [--writers 4]
//        writes bench/RESULTS.md and bench/results.json
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Doc, WebSocketProvider } from 'deltacrdt-provider';
import { spawnServer, tmpDir, waitFor } from '../test/helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const levels = arg('levels', '250,1000,4000,8000,16000,32000').split(',').map(Number);
const seconds = Number(arg('seconds', '8'));
const roomsN = Number(arg('rooms', '8'));
const writersN = Number(arg('writers', '4'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 100; // USER_HZ
  return ((Number(f[11]) + Number(f[12])) / tick) * 1000; // ms
}
const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const loadBefore = os.loadavg()[0];
const data = tmpDir('bench');
const srv = await spawnServer(['--port', '0', '--data', data, '--no-demo']);
const url = `ws://127.0.0.1:${srv.port}`;
const mk = (room, share) => {
  const doc = new Doc('ORSet', { tickMs: 50 });
  const provider = new WebSocketProvider(url, `bench/${room}`, doc, { WebSocket, share });
  return { doc, provider };
};
const rooms = [];
for (let r = 0; r < roomsN; r++) {
  const writers = [];
  for (let w = 0; w < writersN; w++) writers.push(mk(r, `w${w}`));
  const probe = mk(r, 'probe');
  const observer = mk(r, 'observer');
  rooms.push({ writers, probe, observer, pending: new Map(), lat: [] });
}
await waitFor(() => rooms.every((r) => [...r.writers, r.probe, r.observer].every((c) => c.provider.status === 'connected')), 20_000, 'clients joined');
for (const r of rooms) {
  r.observer.doc.replica.onChange(() => {
    if (!r.pending.size) return;
    const now = performance.now();
    for (const [name, t0] of r.pending) {
      if (r.observer.doc.replica.has(name)) {
        r.lat.push(now - t0);
        r.pending.delete(name);
      }
    }
  });
}

const stats = async () => (await (await fetch(`http://127.0.0.1:${srv.port}/api/stats`)).json());
const generations = async () => (await stats()).rooms.reduce((a, r) => a + r.generation, 0);
const results = [];
let seq = 0;
for (const target of levels) {
  for (const r of rooms) {
    r.lat = [];
    r.pending.clear();
  }
  const writers = rooms.flatMap((r) => r.writers);
    const prev = new Map();
  const g0 = await generations();
  const c0 = cpuOf(srv.child.pid);
  const cc0 = process.cpuUsage();
  const t0 = performance.now();
  let made = 0;
  let probes = 0;
  // 10 ms steps: each writer makes its share of updates per step.
  let carry = 0;
  let nextProbe = t0;
  while (performance.now() - t0 < seconds * 1000) {
    const stepStart = performance.now();
    // Whatever the timer granularity, make up to the target count so far (round-robin).
    const due = Math.floor((target * (stepStart - t0)) / 1000) - made;
    for (let i = 0; i < due; i++) {
      const w = writers[(made + carry) % writers.length];
      const x = `x${++seq}`;
      w.doc.replica.add(x);
      const p = prev.get(w);
      if (p) w.doc.replica.remove(p);
      prev.set(w, x);
      made++;
    }
    if (stepStart >= nextProbe) {
      nextProbe += 50;
      for (const r of rooms) {
        const name = `p${++seq}`;
        r.pending.set(name, performance.now());
        r.probe.doc.replica.add(name);
        probes++;
      }
    }
    const spent = performance.now() - stepStart;
    await sleep(Math.max(0, 10 - spent));
  }
  const elapsed = (performance.now() - t0) / 1000;
  // Let the tail drain (latencies of the last probes count too), then read the counters.
  await sleep(1500);
  const g1 = await generations();
  const cpu = (cpuOf(srv.child.pid) - c0) / 1000;
  const cc = process.cpuUsage(cc0);
  const lat = rooms.flatMap((r) => r.lat);
  const lost = rooms.reduce((a, r) => a + r.pending.size, 0);
  const row = {
    targetUpdatesPerSec: target,
    madeUpdatesPerSec: Math.round(made / elapsed),
    serverChangesPerSec: Math.round((g1 - g0) / (elapsed + 1.5)),
    probes,
    probesNotSeenWithin1500ms: lost,
    p50ms: +pct(lat, 50).toFixed(1),
    p99ms: +pct(lat, 99).toFixed(1),
    maxMs: +Math.max(...lat).toFixed(1),
    serverCpuPct: Math.round((100 * cpu) / (elapsed + 1.5)),
    clientCpuPct: Math.round((100 * (cc.user + cc.system)) / 1e6 / (elapsed + 1.5)),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
for (const r of rooms) for (const c of [...r.writers, r.probe, r.observer]) c.provider.destroy();
await srv.kill('SIGTERM');
fs.rmSync(data, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model ?? 'unknown';
const machine = `${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
const md = [
  '# deltacrdt-server load benchmark',
  '',
  `Machine: ${machine}. One server process (file storage: every batch of changes fsynced before`,
  `anything leaves the room), ${roomsN} rooms (ORSet), ${writersN} writers + 1 probe writer + 1 observer per room, each`,
  'on its own WebSocket; all clients in one Node process beside the server (they share the 2 cores).',
  `${seconds} s per level. An update is one add (and one remove of the writer's previous element).`,
  'Latency: a probe element added by one client until another client (another connection) holds it.',
  '`server changes/s`: batches of changes the server applied and persisted (each one fsync); several',
  'updates of a client tick travel in one delta.',
  '',
  '| target updates/s | made updates/s | server changes/s | p50 ms | p99 ms | max ms | probes unseen | server CPU % | clients CPU % |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.targetUpdatesPerSec} | ${r.madeUpdatesPerSec} | ${r.serverChangesPerSec} | ${r.p50ms} | ${r.p99ms} | ${r.maxMs} | ${r.probesNotSeenWithin1500ms}/${r.probes} | ${r.serverCpuPct} | ${r.clientCpuPct} |`),
  '',
  `Load average (1 min) of the machine: ${loadBefore.toFixed(1)} before the run, ${os.loadavg()[0].toFixed(1)} after (the 2 cores are shared;`,
  'other work on them shows up as latency and CPU noise).',
  '',
  `Run: \`node js/server/bench/load.mjs --levels ${levels.join(',')} --seconds ${seconds} --rooms ${roomsN} --writers ${writersN}\` (${new Date().toISOString().slice(0, 10)}).`,
  '',
];
fs.writeFileSync(path.join(here, 'RESULTS.md'), md.join('\n'));
fs.writeFileSync(path.join(here, 'results.json'), JSON.stringify({ machine, roomsN, writersN, seconds, results }, null, 2) + '\n');
console.log(md.join('\n'));
process.exit(0);
