// Tabs of one browser: two pages of the cart demo in one Chromium profile, with the server
// unreachable over WebSocket (offline), converge over BroadcastChannel alone; the first tab
// holds the room's IndexedDB lock, the second runs in memory. And two Node docs over
// BroadcastChannel converge the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Doc, BroadcastChannelProvider } from 'deltacrdt-provider';
import { startServer } from '../src/server.js';
import { launchChromium, openPage, waitFor } from './helpers.mjs';

/** A port nothing listens on. */
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

test('two tabs converge over BroadcastChannel while offline', { timeout: 60_000 }, async () => {
  const s = await startServer({ port: 0 });
  let chromium;
  try {
    chromium = await launchChromium();
    const ctx = await chromium.browser.newContext();
    const errors = [];
    const url = `http://127.0.0.1:${s.port}/demo/?cart=tabs&ws=${encodeURIComponent(`ws://127.0.0.1:${await deadPort()}`)}`;
    const a = await openPage(ctx, url, errors);
    const b = await openPage(ctx, url, errors);
    await a.evaluate(() => window.cart.add('apple', 2));
    await b.evaluate(() => window.cart.add('bread'));
    await b.evaluate(() => window.cart.setCoupon('TABS10'));
    const same = async () => {
      const [x, y] = await Promise.all([a.evaluate(() => window.cart.snapshot()), b.evaluate(() => window.cart.snapshot())]);
      return JSON.stringify(x) === JSON.stringify(y) && x.items.length === 2 && x.coupon === 'TABS10' ? x : undefined;
    };
    const snap = await waitFor(same, 20_000, 'the tabs converge', 100);
    assert.deepEqual(snap.qty, { apple: 2, bread: 1 });
    assert.notEqual(await a.evaluate(() => window.cart.status().status), 'connected');
    // Browser errors: only the failed WebSocket connections to the dead port.
    assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e)), []);
  } finally {
    await chromium?.close();
    await s.close();
  }
});

test('two Node docs over BroadcastChannel', { timeout: 10_000 }, async () => {
  const a = new Doc('PNCounter', { tickMs: 20 });
  const b = new Doc('PNCounter', { tickMs: 20 });
  const pa = new BroadcastChannelProvider('node-tabs', a);
  const pb = new BroadcastChannelProvider('node-tabs', b);
  a.replica.inc(5);
  b.replica.dec(2);
  await waitFor(() => a.replica.value === 3 && b.replica.value === 3, 5000, 'converged');
  assert.deepEqual(pa.peers(), [b.replicaId]);
  pa.destroy();
  pb.destroy();
  await a.close();
  await b.close();
});
