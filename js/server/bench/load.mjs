// Load benchmark (not a test): one deltacrdt-server process (file storage, fsync on) and Node
// clients in this process. Writers make updates at a target aggregate rate spread over rooms
// (ORSet: add a new element, remove the writer's previous one); in each room a probe writer
// adds a probe element 20 times a second and an observer on another connection records when
// it sees it: client-to-client propagation latency. Per load level: the achieved update rate
// (what the server applied, from its change counters), p50/p99/max latency, and the CPU time
// of the server process.
// Usage: node bench/load.mjs [--levels 250,...] [--seconds 8] [--rooms 8] [--writers 4] [--processes 2]
//        writes bench/RESULTS.md and bench/results.json
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
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
if (arg('role', '') === 'writer') {
  // A writer process: --url, --rooms, --writers (per room), --rate (updates/s of this process).
  const url = arg('url');
  const rate = Number(arg('rate'));
  const ws = [];
  for (let r = 0; r < roomsN; r++) {
    for (let w = 0; w < writersN; w++) {
      const doc = new Doc('ORSet', { tickMs: 50 });
      ws.push({ doc, provider: new WebSocketProvider(url, `bench/${r}`, doc, { WebSocket, share: `w${w}` }) });
    }
  }
  await waitFor(() => ws.every((c) => c.provider.status === 'connected'), 20_000, 'writers joined');
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  const t0 = performance.now();
  const prev = new Map();
  let made = 0;
  let seq = 0;
  const tag = `${process.pid}-`;
  while (performance.now() - t0 < seconds * 1000) {
    const stepStart = performance.now();
    const due = Math.floor((rate * (stepStart - t0)) / 1000) - made;
    for (let i = 0; i < due; i++) {
      const w = ws[made % ws.length];
      const x = `${tag}${++seq}`;
      w.doc.replica.add(x);
      const p = prev.get(w);
      if (p) w.doc.replica.remove(p);
      prev.set(w, x);
      made++;
    }
    await sleep(Math.max(0, 10 - (performance.now() - stepStart)));
  }
  const elapsed = (performance.now() - t0) / 1000;
  process.stdout.write(`made ${made} ${elapsed}\n`);
  await sleep(1000);
  for (const c of ws) c.provider.destroy();
  process.exit(0);
}
const processes = Number(arg('processes', '2'));
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
  const probe = mk(r, 'probe');
  const observer = mk(r, 'observer');
  rooms.push({ probe, observer, pending: new Map(), lat: [] });
}
await waitFor(() => rooms.every((r) => [r.probe, r.observer].every((c) => c.provider.status === 'connected')), 20_000, 'clients joined');
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

/** Starts the writer processes of one level; resolves once they are connected. */
async function writerProcesses(target) {
  const self = fileURLToPath(import.meta.url);
  const kids = [];
  for (let i = 0; i < processes; i++) {
    const child = spawn(process.execPath, [self, '--role', 'writer', '--url', url, '--rooms', String(roomsN),
      '--writers', String(Math.max(1, Math.round(writersN / processes))), '--rate', String(target / processes),
      '--seconds', String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise((resolve) => child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    }));
    const done = new Promise((resolve) => child.on('exit', () => resolve(out)));
    kids.push({ child, ready, done });
  }
  await Promise.all(kids.map((k) => k.ready));
  return kids;
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
  const kids = await writerProcesses(target);
  const g0 = await generations();
  const c0 = cpuOf(srv.child.pid);
  const k0 = kids.map((k) => cpuOf(k.child.pid));
  for (const k of kids) k.child.stdin.write('go\n');
  const t0 = performance.now();
  let probes = 0;
  while (performance.now() - t0 < seconds * 1000) {
    for (const r of rooms) {
      const name = `p${++seq}`;
      r.pending.set(name, performance.now());
      r.probe.doc.replica.add(name);
      probes++;
    }
    await sleep(50);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const k1 = kids.map((k) => { try { return cpuOf(k.child.pid); } catch { return NaN; } });
  // Let the tail drain (latencies of the last probes count too), then read the counters.
  await sleep(1500);
  const g1 = await generations();
  const cpu = (cpuOf(srv.child.pid) - c0) / 1000;
  const outs = await Promise.all(kids.map((k) => k.done));
  const made = outs.reduce((a, o) => a + Number(/made (\d+)/.exec(o)?.[1] ?? 0), 0);
  const lat = rooms.flatMap((r) => r.lat);
  const lost = rooms.reduce((a, r) => a + r.pending.size, 0);
  const row = {
    targetUpdatesPerSec: target,
    madeUpdatesPerSec: Math.round(made / seconds),
    serverChangesPerSec: Math.round((g1 - g0) / (elapsed + 1.5)),
    probes,
    probesNotSeenWithin1500ms: lost,
    p50ms: +pct(lat, 50).toFixed(1),
    p99ms: +pct(lat, 99).toFixed(1),
    maxMs: +Math.max(...lat).toFixed(1),
    serverCpuPct: Math.round((100 * cpu) / (elapsed + 1.5)),
    writerCpuPct: Math.round(k1.reduce((a, c, i) => a + (c - k0[i]), 0) / 10 / elapsed),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
for (const r of rooms) for (const c of [r.probe, r.observer]) c.provider.destroy();
await srv.kill('SIGTERM');
fs.rmSync(data, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model ?? 'unknown';
const machine = `${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
const md = [
  '# deltacrdt-server load benchmark',
  '',
  `Machine: ${machine}. One server process (file storage: every batch of changes fsynced before`,
  `anything leaves the room), ${roomsN} rooms (ORSet), ${writersN} writers + 1 probe writer + 1 observer per room, each`,
  'on its own WebSocket; every process shares the 2 cores.',
  `${processes} writer processes (the writers of each room split between them), the probes and observers in the`,
  `bench process. ${seconds} s per level. An update is one add (and one remove of the writer's previous element).`,
  'Latency: a probe element added by one client until another client (another connection) holds it.',
  '`server changes/s`: batches of changes the server applied and persisted (each one fsync); several',
  'updates of a client tick travel in one delta.',
  '',
  '| target updates/s | made updates/s | server changes/s | p50 ms | p99 ms | max ms | probes unseen | server CPU % | writers CPU % |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.targetUpdatesPerSec} | ${r.madeUpdatesPerSec} | ${r.serverChangesPerSec} | ${r.p50ms} | ${r.p99ms} | ${r.maxMs} | ${r.probesNotSeenWithin1500ms}/${r.probes} | ${r.serverCpuPct} | ${r.writerCpuPct} |`),
  '',
  `Load average (1 min) of the machine: ${loadBefore.toFixed(1)} before the run, ${os.loadavg()[0].toFixed(1)} after (the 2 cores are shared;`,
  'other work on them shows up as latency and CPU noise).',
  '',
  `Run: \`node js/server/bench/load.mjs --levels ${levels.join(',')} --seconds ${seconds} --rooms ${roomsN} --writers ${writersN} --processes ${processes}\` (${new Date().toISOString().slice(0, 10)}).`,
  '',
];
fs.writeFileSync(path.join(here, 'RESULTS.md'), md.join('\n'));
fs.writeFileSync(path.join(here, 'results.json'), JSON.stringify({ machine, roomsN, writersN, seconds, results }, null, 2) + '\n');
console.log(md.join('\n'));
process.exit(0);
