// The server in-process: limits and bad frames (each answered by an ERROR frame, nothing
// changed), authorization per connection and room, the HTTP API, eviction of idle rooms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ORSet, LWWRegister, PNCounter } from 'deltacrdt/sync';
import { Doc } from 'deltacrdt-provider';
import { T, encodeJoin } from 'deltacrdt-provider/protocol';
import { startServer } from '../src/server.js';
import { raw } from './raw.mjs';
import { nodeClient, waitFor, getState, tmpDir } from './helpers.mjs';

const url = (s) => `ws://127.0.0.1:${s.port}`;
const http = (s, room) => `http://127.0.0.1:${s.port}/rooms/${encodeURIComponent(room)}`;

/** A room with some content, through a real client; returns its ETag. */
async function seed(s, room, items, token) {
  const c = nodeClient(url(s), room, 'ORSet', token ? { token, share: `seed-${room}` } : { share: `seed-${room}` });
  for (const x of items) c.doc.replica.add(x);
  await waitFor(() => c.provider.synced, 5000, 'seed synced');
  c.provider.destroy();
  await c.doc.close();
  return (await getState(s.port, room, token)).etag;
}

test('bad frames and limits: clear ERROR frames, nothing changed', { timeout: 30_000 }, async () => {
  const s = await startServer({ port: 0, limits: { maxMessageBytes: 4096, maxRoomsPerConnection: 3, messagesPerSecond: 50 } });
  try {
    const etag = await seed(s, 'r', ['a', 'b']);
    const c = await raw(s.port);
    c.sendRaw(new Uint8Array([250, 0]));
    await c.waitError('BAD_FRAME');
    c.sendRaw('hello', false);
    await waitFor(() => c.errors().filter((e) => e === 'BAD_FRAME').length === 2, 5000, 'text frame refused');
    c.sendRaw(new Uint8Array([3, 40, 1, 2]));
    await waitFor(() => c.errors().filter((e) => e === 'BAD_FRAME').length === 3, 5000, 'room past the end refused');
    c.send(T.SYNC, 'r', new Uint8Array([1, 2, 3]));
    await c.waitError('NOT_JOINED');
    c.send(T.SYNC, 'r', new Uint8Array(5000));
    await c.waitError('TOO_LARGE');
    c.send(T.JOIN, 'r', encodeJoin(77n, 'PNCounter'));
    await c.waitError('KIND_MISMATCH');
    c.send(T.JOIN, 'r', encodeJoin(77n, 'NoSuchKind'));
    await waitFor(() => c.errors().filter((e) => e === 'BAD_FRAME').length === 4, 5000, 'unknown kind refused');
    c.send(T.JOIN, 'r', encodeJoin(77n, 'ORSet'));
    await c.waitFrame(T.JOINED);
    // A damaged session message from a joined writer: REFUSED, state unchanged.
    c.send(T.SYNC, 'r', new Uint8Array([0xff, 0xff, 0xff, 0xff, 9, 9, 9]));
    await c.waitError('REFUSED');
    for (const room of ['x1', 'x2', 'x3']) c.send(T.JOIN, room, encodeJoin(77n, 'ORSet'));
    await c.waitError('TOO_MANY_ROOMS');
    assert.equal((await getState(s.port, 'r')).etag, etag, 'nothing changed');
    const metrics = async () => (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    // Exactly the one damaged message so far (the count line ends there: not 1x).
    assert.match(await metrics(), /deltacrdt_sync_room_refusals_total\{room="r",kind="ORSet"\} 1\n/);
    // Rate: a burst far past 2x50 frames/s. The frames the bucket still lets through reach the
    // room and are refused there (one byte is no session message); how many depends on the
    // time since the bucket was last drawn on, so the count is only bounded.
    for (let i = 0; i < 300; i++) c.send(T.SYNC, 'r', new Uint8Array([1]));
    await c.waitError('RATE_LIMITED');
    assert.equal((await getState(s.port, 'r')).etag, etag, 'nothing changed');
    await new Promise((r) => setTimeout(r, 150)); // past the 100 ms cache of the figures
    const after = await metrics();
    assert.match(after, /deltacrdt_server_refusals_total\{error_type="RATE_LIMITED"\} \d+/);
    const refused = Number(/deltacrdt_sync_room_refusals_total\{room="r",kind="ORSet"\} (\d+)\n/.exec(after)?.[1]);
    assert.ok(refused >= 1 && refused <= 301, `room refusals after the burst: ${refused}`);
    c.close();
  } finally {
    await s.close();
  }
});

test('authorization: none, read and read-write, per connection and room', { timeout: 30_000 }, async () => {
  const rights = { alice: { shared: 'write', board: 'read' }, bob: { shared: 'read' } };
  const s = await startServer({ port: 0, authorize: ({ token, room }) => rights[token]?.[room] ?? 'none' });
  try {
    const etag = await seed(s, 'shared', ['one', 'two'], 'alice');
    // No right: refused, reads nothing, changes nothing.
    const mallory = nodeClient(url(s), 'shared', 'ORSet', { token: 'mallory' });
    mallory.doc.replica.add('evil');
    await waitFor(() => mallory.errors.some((e) => e.name === 'FORBIDDEN'), 5000, 'FORBIDDEN');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(mallory.doc.replica.values(), ['evil']);
    assert.notEqual(mallory.provider.status, 'connected');
    // Read: receives the room; its edits stay local.
    const bob = nodeClient(url(s), 'shared', 'ORSet', { token: 'bob' });
    await waitFor(() => bob.doc.replica.size === 2 && bob.provider.synced, 5000, 'reader receives the room');
    assert.equal(bob.provider.access, 'read');
    bob.doc.replica.add('bob-edit');
    // A reader forging session messages: READ_ONLY, nothing changed.
    const forger = await raw(s.port, 'bob');
    forger.send(T.JOIN, 'shared', encodeJoin(99n, 'ORSet'));
    await forger.waitFrame(T.JOINED);
    const o = new ORSet(99n);
    o.add('forged');
    forger.send(T.SYNC, 'shared', o.takeDelta());
    await forger.waitError('READ_ONLY');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await getState(s.port, 'shared', 'alice')).etag, etag, 'refused deltas changed nothing');
    // Read-write: changes reach the reader.
    const alice = nodeClient(url(s), 'shared', 'ORSet', { token: 'alice' });
    alice.doc.replica.add('three');
    await waitFor(() => bob.doc.replica.has('three'), 5000, 'the reader sees the writer');
    assert.ok(!alice.doc.replica.has('bob-edit'));
    // Per room: alice may only read the board.
    const board = nodeClient(url(s), 'board', 'ORSet', { token: 'alice' });
    await waitFor(() => board.provider.access === 'read', 5000, 'read access to board');
    // HTTP: none -> 403, read -> GET but no POST, write -> POST.
    assert.equal((await fetch(http(s, 'shared'))).status, 403);
    assert.equal((await fetch(http(s, 'shared'), { headers: { authorization: 'Bearer bob' } })).status, 200);
    const d = new ORSet();
    d.add('via-http');
    const delta = d.takeDelta();
    assert.equal((await fetch(http(s, 'shared'), { method: 'POST', body: delta, headers: { authorization: 'Bearer bob' } })).status, 403);
    assert.equal((await fetch(http(s, 'shared'), { method: 'POST', body: delta, headers: { authorization: 'Bearer alice' } })).status, 200);
    await waitFor(() => bob.doc.replica.has('via-http') && alice.doc.replica.has('via-http'), 5000, 'POST reaches the clients');
    for (const c of [mallory, bob, alice, board]) c.provider.destroy();
    forger.close();
  } finally {
    await s.close();
  }
});

test('HTTP API: ETag from the version, 304, delta since a version, idempotent POST', { timeout: 30_000 }, async () => {
  const s = await startServer({ port: 0 });
  try {
    assert.equal((await fetch(http(s, 'nope'))).status, 404);
    const a = new ORSet(5n);
    a.addAll(['x', 'y']);
    const d1 = a.takeDelta();
    const p1 = await fetch(http(s, 'h') + '?kind=ORSet', { method: 'POST', body: d1 });
    assert.equal(p1.status, 200);
    const j1 = await p1.json();
    assert.equal(j1.changed, true);
    const again = await (await fetch(http(s, 'h'), { method: 'POST', body: d1 })).json();
    assert.deepEqual(again, { changed: false, etag: j1.etag });
    const g = await fetch(http(s, 'h'));
    assert.equal(g.headers.get('etag'), j1.etag);
    assert.equal(g.headers.get('x-deltacrdt-kind'), 'ORSet');
    const state = new Uint8Array(await g.arrayBuffer());
    const o = ORSet.fromBytes(state);
    assert.deepEqual(o.values(), ['x', 'y']);
    assert.equal((await fetch(http(s, 'h'), { headers: { 'if-none-match': j1.etag } })).status, 304);
    // Delta since a version: only what the holder lacks.
    const v = o.version();
    a.add('z');
    const p2 = await (await fetch(http(s, 'h'), { method: 'POST', body: a.takeDelta() })).json();
    assert.notEqual(p2.etag, j1.etag);
    const since = await fetch(http(s, 'h') + `?since=${Buffer.from(v).toString('base64url')}`);
    const delta = new Uint8Array(await since.arrayBuffer());
    const full = (await getState(s.port, 'h')).bytes;
    assert.ok(delta.length < full.length, `delta ${delta.length} < state ${full.length}`);
    assert.equal(o.merge(delta), true);
    assert.deepEqual(o.values(), ['x', 'y', 'z']);
    assert.equal((await fetch(http(s, 'h'), { headers: { 'if-none-match': p2.etag } })).status, 304);
    // Refused bodies change nothing.
    assert.equal((await fetch(http(s, 'h') + '?since=AAAA')).status, 400);
    assert.equal((await fetch(http(s, 'h'), { method: 'POST', body: new Uint8Array([1, 2, 3]) })).status, 400);
    const c = new PNCounter();
    c.inc(3);
    assert.equal((await fetch(http(s, 'h'), { method: 'POST', body: c.takeDelta() })).status, 400);
    const lww = new LWWRegister(1n, { now: () => Date.now() + 3_600_000 });
    lww.set('from the future');
    await fetch(http(s, 'l') + '?kind=LWWRegister', { method: 'POST', body: new LWWRegister().toBytes() });
    const fut = await fetch(http(s, 'l'), { method: 'POST', body: lww.takeDelta() });
    assert.equal(fut.status, 400, 'a write an hour ahead is refused');
    assert.equal((await getState(s.port, 'h')).etag, p2.etag);
    for (const x of [a, o, c, lww]) x.free();
  } finally {
    await s.close();
  }
});

test('idle rooms are evicted to storage, memory stays bounded, and they reload', { timeout: 30_000 }, async () => {
  const data = tmpDir('evict');
  const s = await startServer({ port: 0, data, limits: { idleRoomMs: 150, maxRooms: 5 } });
  try {
    const etags = [];
    for (let i = 0; i < 12; i++) {
      const c = new PNCounter(BigInt(i + 1));
      c.inc(i + 1);
      const r = await fetch(http(s, `room-${i}`) + '?kind=PNCounter', { method: 'POST', body: c.takeDelta() });
      etags.push((await r.json()).etag);
      c.free();
      assert.ok(s.rooms.size <= 5, `at most 5 rooms in memory, ${s.rooms.size}`);
    }
    await waitFor(() => s.rooms.size === 0, 5000, 'every idle room evicted');
    assert.ok(s.evictions >= 12);
    for (let i = 0; i < 12; i++) {
      const g = await getState(s.port, `room-${i}`);
      assert.equal(g.etag, etags[i]);
      const c = PNCounter.fromBytes(g.bytes);
      assert.equal(c.value, i + 1);
      c.free();
    }
  } finally {
    await s.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('a Doc persists before it sends: nothing leaves while the store has not confirmed', { timeout: 20_000 }, async () => {
  const s = await startServer({ port: 0 });
  try {
    let release;
    const gate = new Promise((r) => (release = r));
    const saved = [];
    const store = {
      load: async () => undefined,
      saveMeta: async () => {},
      append: async (d) => {
        await gate;
        saved.push(d);
      },
      compact: async () => {},
      logBytes: () => 0,
    };
    const doc = await Doc.open('ORSet', { store });
    const c = nodeClient(url(s), 'gated', 'ORSet', { share: 'gated' });
    const { WebSocketProvider } = await import('deltacrdt-provider');
    const { WebSocket } = await import('ws');
    const p = new WebSocketProvider(url(s), 'gated', doc, { WebSocket, share: 'gated2' });
    await waitFor(() => p.status === 'connected', 5000, 'joined');
    doc.replica.add('durable-first');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.doc.replica.has('durable-first'), false, 'not sent before the store confirmed');
    assert.equal(doc.persisted, false);
    release();
    await waitFor(() => c.doc.replica.has('durable-first'), 5000, 'sent once stored');
    assert.ok(saved.length >= 1);
    p.destroy();
    c.provider.destroy();
  } finally {
    await s.close();
  }
});

test('a room loaded again while its eviction is compacting loses nothing', { timeout: 30_000 }, async () => {
  const data = tmpDir('evict-race');
  const s = await startServer({ port: 0, data, limits: { idleRoomMs: 60_000, maxRooms: 1 } });
  try {
    const expected = [];
    for (let i = 0; i < 20; i++) {
      const room = await s.room('race', 'ORSet');
      const o = new ORSet();
      o.add(`before-${i}`);
      room.doc.mergeDelta(o.takeDelta());
      expected.push(`before-${i}`);
      // Evict (compacts) and, at the same time, load the room again and write to it.
      const evicting = s.evictIdle(true);
      const again = await s.room('race', 'ORSet');
      assert.notEqual(again, room);
      o.add(`after-${i}`);
      again.doc.mergeDelta(o.takeDelta());
      await again.doc.flush();
      expected.push(`after-${i}`);
      await evicting;
      o.free();
    }
    await s.close();
    const { FileStorage } = await import('../src/file-storage.js');
    const rec = await new FileStorage(data).room('race').load();
    const back = ORSet.fromBytes(Doc.replay('ORSet', rec));
    for (const x of expected) assert.ok(back.has(x), `${x} survived`);
    back.free();
  } finally {
    await s.close().catch(() => {});
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('a client that stops answering pings is dropped and its room can be evicted', { timeout: 20_000 }, async () => {
  const s = await startServer({ port: 0, heartbeatMs: 100, limits: { idleRoomMs: 100 } });
  try {
    const c = await raw(s.port);
    // ws answers pings automatically; a vanished client does not: stop the automatic pong.
    c.ws.pong = () => {};
    c.send(T.JOIN, 'hb', encodeJoin(5n, 'ORSet'));
    await c.waitFrame(T.JOINED);
    assert.equal(s.rooms.get('hb').peers.size, 1);
    await waitFor(() => s.conns.size === 0, 5000, 'the silent connection is closed');
    await waitFor(() => !s.rooms.has('hb'), 5000, 'its room is evicted');
  } finally {
    await s.close();
  }
});
