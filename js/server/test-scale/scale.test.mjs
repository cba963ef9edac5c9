// Scale-out tests against a real PostgreSQL and redis-server (started by scripts/test-scale,
// which passes PG_URL and REDIS_URL): the PostgreSQL store (round trip, compaction, a writer
// SIGKILLed at random moments losing nothing it acknowledged), and server instances sharing
// rooms over Redis Streams (convergence through different instances, an instance SIGKILLed
// and restarted catching up, inboxes trimmed to the acknowledged positions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ORSet } from 'deltacrdt/sync';
import { Doc } from 'deltacrdt-provider';
import { PgStorage } from '../src/pg-storage.js';
import { spawnServer, nodeClient, waitFor } from '../test/helpers.mjs';
import { rng, withTimeout } from '../test/util.mjs';

const PG_URL = process.env.PG_URL;
const REDIS_URL = process.env.REDIS_URL;
if (!PG_URL || !REDIS_URL) throw new Error('PG_URL and REDIS_URL must be set (run scripts/test-scale)');
const run = `t${Date.now().toString(36)}`;

test('PgStorage: meta, log, compaction, namespaces', { timeout: 30_000 }, async () => {
  const a = new PgStorage(PG_URL, { namespace: `${run}-a` });
  const b = new PgStorage(PG_URL, { namespace: `${run}-b` });
  try {
    const s = a.room('r');
    assert.equal(await s.load(), undefined);
    await s.saveMeta({ kind: 'ORSet', replicaId: 0xfedcba9876543210n, incarnation: 1n });
    const src = new Doc('ORSet');
    let v = src.session.version();
    for (let i = 0; i < 5; i++) {
      src.replica.add(`x${i}`);
      await s.append(src.session.deltaSince(v));
      v = src.session.version();
    }
    let rec = await a.room('r').load();
    assert.ok(rec);
    assert.equal(rec.replicaId, 0xfedcba9876543210n, 'a u64 replica id round-trips');
    assert.equal(rec.deltas.length, 5);
    assert.equal(rec.snapshot, undefined);
    let o = ORSet.fromBytes(Doc.replay('ORSet', rec));
    assert.equal(o.size, 5);
    o.free();
    await s.compact(src.session.persist());
    assert.equal(s.logBytes(), 0);
    rec = await a.room('r').load();
    assert.ok(rec?.snapshot);
    assert.equal(rec.deltas.length, 0, 'compaction empties the log');
    o = ORSet.fromBytes(Doc.replay('ORSet', rec));
    assert.equal(o.size, 5);
    o.free();
    assert.equal(await b.room('r').load(), undefined, 'namespaces are separate');
    assert.deepEqual(await a.list(), ['r']);
    // compact of a room without meta is refused (and changes nothing).
    await assert.rejects(b.room('none').compact(new Uint8Array([1])));
    src.session.free();
  } finally {
    await a.close();
    await b.close();
  }
});

test('PgStorage: a writer SIGKILLed at random moments loses nothing it acknowledged', { timeout: 90_000 }, async () => {
  const random = rng(11);
  const writer = fileURLToPath(new URL('pg-writer.mjs', import.meta.url));
  const ns = `${run}-crash`;
  const st = new PgStorage(PG_URL, { namespace: ns });
  try {
    let lastAcked = -1;
    let incarnation = 0n;
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, [writer, PG_URL, ns], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/acked (\d+)\n(?!.*acked)/s);
        if (m) lastAcked = Math.max(lastAcked, Number(m[1]));
      });
      await withTimeout(new Promise((r) => {
        const check = () => (out.includes('acked') ? r(undefined) : setTimeout(check, 5));
        check();
      }), 20_000, 'the writer acknowledges');
      await new Promise((r) => setTimeout(r, 50 + random() * 400));
      await new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGKILL');
      });
      const rec = await st.room('crash').load();
      assert.ok(rec, 'the room exists');
      assert.ok(rec.incarnation > incarnation, 'each run has a greater incarnation');
      incarnation = rec.incarnation;
      const o = ORSet.fromBytes(Doc.replay('ORSet', rec));
      for (let n = 0; n <= lastAcked; n++) assert.ok(o.has(`e${n}`), `acknowledged e${n} survived (round ${round})`);
      o.free();
    }
    assert.ok(lastAcked > 20, `the writer made progress (${lastAcked})`);
  } finally {
    await st.close();
  }
});

/** Starts instance `name` with PostgreSQL storage and Redis. */
function instance(name, port = 0) {
  return spawnServer(['--port', String(port), '--pg', PG_URL, '--redis', REDIS_URL, '--instance', `${run}-${name}`, '--no-demo']);
}

test('instances over Redis Streams: clients on different instances converge; a SIGKILLed instance catches up', { timeout: 90_000 }, async () => {
  const redis = new Redis(REDIS_URL);
  let a = await instance('a');
  let b = await instance('b');
  const room = `${run}-cart`;
  const clients = [];
  try {
    const ca = nodeClient(`ws://127.0.0.1:${a.port}`, room, 'ORSet');
    const cb = nodeClient(`ws://127.0.0.1:${b.port}`, room, 'ORSet');
    clients.push(ca, cb);
    await waitFor(() => ca.provider.synced && cb.provider.synced, 10_000, 'both join');
    for (let i = 0; i < 20; i++) {
      ca.doc.replica.add(`a${i}`);
      cb.doc.replica.add(`b${i}`);
    }
    await waitFor(() => ca.doc.replica.size === 40 && cb.doc.replica.size === 40, 15_000, 'converge across instances');

    // B dies; edits go on through A; B restarts from PostgreSQL and its inbox.
    const bPort = b.port;
    await b.kill('SIGKILL');
    for (let i = 0; i < 30; i++) ca.doc.replica.add(`while-down-${i}`);
    await waitFor(() => ca.provider.synced, 10_000, 'A holds the edits');
    b = await instance('b', bPort);
    // cb reconnects to the restarted B and gets what A took meanwhile.
    await waitFor(() => cb.doc.replica.size === 70 && cb.provider.synced, 20_000, 'the restarted instance catches up');

    // Inboxes are trimmed to the stored positions.
    await waitFor(async () => {
      const keys = await redis.keys(`dc:{${room}}:in:*`);
      const lens = await Promise.all(keys.map((k) => redis.xlen(k)));
      return keys.length === 2 && lens.every((n) => n <= 2);
    }, 10_000, 'inboxes trimmed');
    const pos = await redis.hgetall(`dc:{${room}}:pos`);
    assert.equal(Object.keys(pos).length, 2, 'each replica stored its position');
    // ... with its room, in PostgreSQL.
    const pgA = new PgStorage(PG_URL, { namespace: `${run}-a` });
    try {
      const stored = await pgA.room(room).loadPosition();
      assert.match(stored ?? '', /^\d+-\d+$/, 'the position is stored with the room');
    } finally {
      await pgA.close();
    }
  } finally {
    for (const c of clients) c.provider.destroy();
    await a.kill();
    await b.kill();
    redis.disconnect();
  }
});
