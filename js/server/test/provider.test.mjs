// The provider's connection life: status and synced events, exponential backoff with jitter
// while the server is down, offline edits sent after the reconnect, many rooms over one socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { Doc, WebSocketProvider, MemoryStorage } from 'deltacrdt-provider';
import { startServer } from '../src/server.js';
import { waitFor } from './helpers.mjs';

test('status, synced, backoff while the server is down, offline edits after the reconnect', { timeout: 30_000 }, async () => {
  const storage = new MemoryStorage();
  let s = await startServer({ port: 0, storage });
  const port = s.port;
  const doc = new Doc('ORSet', { tickMs: 20 });
  const counter = new Doc('PNCounter', { tickMs: 20 });
  const events = [];
  const attempts = [];
  const url = `ws://127.0.0.1:${port}`;
  // random() = 1: every delay is its bound, 100 ms * 2^attempt capped at 800 ms.
  const opts = { WebSocket, minBackoffMs: 100, maxBackoffMs: 800, random: () => 1, share: 'life' };
  const p = new WebSocketProvider(url, 'life', doc, opts);
  const q = new WebSocketProvider(url, 'life-count', counter, opts);
  try {
    assert.equal(p.connection, q.connection, 'two rooms, one socket');
    p.on('status', (st) => events.push(st));
    p.on('synced', (v) => events.push(v ? 'synced' : 'unsynced'));
    p.connection.on('status', (st) => st === 'connecting' && attempts.push(performance.now()));
    assert.equal(p.status, 'connecting');
    doc.replica.add('online');
    await p.whenSynced();
    assert.deepEqual(events.slice(0, 2), ['connected', 'synced']);
    // The server goes away; edits go on.
    await s.close();
    await waitFor(() => p.status === 'disconnected' || p.status === 'connecting', 5000, 'disconnected');
    assert.equal(p.synced, false);
    doc.replica.add('offline-1');
    counter.replica.inc(7);
    await new Promise((r) => setTimeout(r, 1600));
    doc.replica.add('offline-2');
    // Delays: 100 ms to the first attempt, then 200, 400, 800, 800 ms between attempts.
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    assert.ok(gaps.length >= 3, `several attempts (${gaps.length})`);
    for (const [i, g] of gaps.entries()) {
    const bound = Math.min(800, 100 * 2 ** (i + 1));
    assert.ok(g >= bound - 5 && g < bound + 500, `attempt gap ${i}: ${g.toFixed(0)} ms, bound ${bound}`);
    }
    // The server comes back (same port, same storage): everything made offline arrives.
    s = await startServer({ port, storage });
    await waitFor(() => p.synced && q.synced, 10_000, 'synced again');
    const room = s.rooms.get('life');
    assert.deepEqual(room.doc.replica.values().slice().sort(), ['offline-1', 'offline-2', 'online']);
    assert.equal(s.rooms.get('life-count').doc.replica.value, 7);
    assert.ok(events.includes('disconnected'));
    assert.equal(events.at(-1), 'synced');
    assert.ok(p.connection.reconnects >= 3);
  } finally {
    p.destroy();
    q.destroy();
    await s.close();
  }
});

test('random jitter stays within [0, bound] (full jitter)', { timeout: 20_000 }, async () => {
  // Nothing listens: with random() = 0 the delays are the floor (minBackoffMs / 4 = 250 ms),
  // not the 1000 ms bound.
  const doc = new Doc('GCounter');
  const attempts = [];
  const p = new WebSocketProvider('ws://127.0.0.1:9', 'x', doc, { WebSocket, minBackoffMs: 1000, maxBackoffMs: 1000, random: () => 0, share: 'jitter' });
  p.connection.on('status', (st) => st === 'connecting' && attempts.push(performance.now()));
  await waitFor(() => attempts.length >= 4, 8000, 'attempts');
  p.destroy();
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
  for (const g of gaps) assert.ok(g >= 245 && g < 750, `gap ${g.toFixed(0)} ms is the floor (250 ms), not the bound`);
});
