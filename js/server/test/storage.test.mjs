// The file storage: checksummed append-only log, atomic snapshots, compaction, recovery that
// cuts a torn tail, and a writer process SIGKILLed at random moments losing nothing it had
// acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ORSet } from 'deltacrdt/sync';
import { Doc } from 'deltacrdt-provider';
import { FileStorage, crc32, roomDirName } from '../src/file-storage.js';
import { tmpDir } from './helpers.mjs';
import { rng, withTimeout } from './util.mjs';

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('log records, torn tail, damaged record, compaction', async () => {
  const dir = tmpDir('store');
  try {
    const storage = new FileStorage(dir);
    const store = storage.room('r/1 ü');
    assert.equal(await store.load(), undefined);
    await store.saveMeta({ kind: 'ORSet', replicaId: 7n, incarnation: 1n });
    const o = new ORSet(7n);
    const deltas = [];
    for (const x of ['a', 'b', 'c']) {
      o.add(x);
      deltas.push(o.takeDelta());
      await store.append(deltas.at(-1));
    }
    store.close();
    const log = path.join(dir, 'rooms', roomDirName('r/1 ü'), 'log.bin');
    const good = fs.statSync(log).size;
    // A torn append: a header promising more bytes than were written.
    fs.appendFileSync(log, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 9, 9]));
    let s2 = storage.room('r/1 ü');
    let rec = await s2.load();
    assert.equal(rec.deltas.length, 3);
    assert.equal(s2.tornBytes, 10);
    assert.equal(fs.statSync(log).size, good, 'the torn tail is cut');
    assert.deepEqual(rec.deltas.map((d) => Buffer.from(d).toString('hex')), deltas.map((d) => Buffer.from(d).toString('hex')));
    // A damaged last record (bit flip in its body): dropped by its checksum.
    const b = fs.readFileSync(log);
    b[b.length - 1] ^= 0x40;
    fs.writeFileSync(log, b);
    s2 = storage.room('r/1 ü');
    rec = await s2.load();
    assert.equal(rec.deltas.length, 2);
    // Compaction: snapshot + empty log, same state.
    const state = Doc.replay('ORSet', { ...rec, deltas });
    await s2.compact(state);
    s2.close();
    assert.equal(fs.statSync(log).size, 0);
    const s3 = storage.room('r/1 ü');
    rec = await s3.load();
    assert.equal(rec.deltas.length, 0);
    const back = ORSet.fromBytes(rec.snapshot);
    assert.deepEqual(back.values(), ['a', 'b', 'c']);
    assert.deepEqual(storage.list(), ['r/1 ü']);
    // A damaged snapshot is an error, not silently empty.
    const snap = path.join(dir, 'rooms', roomDirName('r/1 ü'), 'snapshot.bin');
    const sb = fs.readFileSync(snap);
    sb[sb.length - 1] ^= 1;
    fs.writeFileSync(snap, sb);
    await assert.rejects(storage.room('r/1 ü').load(), /checksum/);
    o.free();
    back.free();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a writer SIGKILLed at random moments loses nothing it acknowledged', { timeout: 60_000 }, async () => {
  const dir = tmpDir('crash');
  const random = rng(3);
  const writer = fileURLToPath(new URL('fixtures-writer.mjs', import.meta.url));
  try {
    let lastAcked = -1;
    let incarnation = 0n;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/acked (\d+)\n(?!.*acked)/s);
        if (m) lastAcked = Math.max(lastAcked, Number(m[1]));
      });
      // Kill at a random moment after the first acknowledgement.
      await withTimeout(new Promise((r) => {
        const check = () => (out.includes('acked') ? r() : setTimeout(check, 5));
        check();
      }), 15_000, 'the writer acknowledges');
      const waitMs = random() * 300;
      await new Promise((r) => setTimeout(r, waitMs));
      await new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGKILL');
      });
      const rec = await new FileStorage(dir, { lock: false }).room('crash').load();
      assert.ok(rec, 'the room exists');
      assert.ok(rec.incarnation > incarnation, 'each run has a greater incarnation');
      incarnation = rec.incarnation;
      const o = ORSet.fromBytes(Doc.replay('ORSet', rec));
      for (let n = 0; n <= lastAcked; n++) assert.ok(o.has(`e${n}`), `acknowledged e${n} survived (round ${round})`);
      o.free();
    }
    assert.ok(lastAcked > 20, `the writer made progress (${lastAcked})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('one process per data directory: a live holder is refused, a dead one taken over', { timeout: 20_000 }, async () => {
  const dir = tmpDir('lock');
  try {
    const child = spawn(process.execPath, ['-e', `
      const { FileStorage } = await import(${JSON.stringify(new URL('../src/file-storage.js', import.meta.url).href)});
      new FileStorage(${JSON.stringify(dir)});
      console.log('locked');
      setInterval(() => {}, 1000);
    `, '--input-type=module'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout.once('data', r));
    assert.throws(() => new FileStorage(dir), /in use by process/);
    await new Promise((r) => {
      child.once('exit', r);
      child.kill('SIGKILL');
    });
    assert.doesNotThrow(() => new FileStorage(dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
