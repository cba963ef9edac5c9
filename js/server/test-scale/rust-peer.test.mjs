// A Rust process (crates/deltacrdt-service-example: the core sync session behind the server's
// WebSocket framing), a Node client and a Chromium page on the cart demo converge on one cart.
// scripts/test-scale builds the binary first (RUST_PEER is its path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { spawnServer, nodeClient, waitFor, launchChromium, openPage } from '../test/helpers.mjs';
import { withTimeout } from '../test/util.mjs';

const RUST_PEER = process.env.RUST_PEER;
if (!RUST_PEER) throw new Error('RUST_PEER must be set (run scripts/test-scale)');

/** Runs the Rust peer; resolves with its stdout. */
function rustPeer(args) {
  return withTimeout(new Promise((resolve, reject) => {
    const child = spawn(RUST_PEER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rust peer exited ${code}: ${err}`))));
  }), 40_000, 'the Rust peer finishes');
}

test('a Rust service, a Node client and a Chromium page converge on one cart', { timeout: 120_000 }, async () => {
  const server = await spawnServer(['--port', '0']);
  const cart = `rust${Date.now().toString(36)}`;
  const room = `cart/${cart}/items`;
  const node = nodeClient(`ws://127.0.0.1:${server.port}`, room, 'ORSet');
  let chromium;
  try {
    node.doc.replica.add('node-sku');
    node.doc.replica.add('to-remove');
    await waitFor(() => node.provider.synced, 10_000, 'the Node client syncs');
    chromium = await launchChromium();
    const errors = [];
    const page = await openPage(await chromium.browser.newContext(), `http://127.0.0.1:${server.port}/demo/?cart=${cart}&db=${cart}`, errors);
    await page.evaluate(() => window.cart.add('apple'));
    // The Rust peer adds two SKUs and waits until it holds the Node and page edits too.
    const out = await rustPeer(['--url', `ws://127.0.0.1:${server.port}`, '--room', room, '--add', 'rust-sku,rust-2', '--until-size', '5', '--timeout-secs', '30']);
    const rustItems = out.split('\n').slice(1).filter(Boolean).sort();
    const want = ['apple', 'node-sku', 'rust-2', 'rust-sku', 'to-remove'];
    assert.deepEqual(rustItems, want, 'the Rust replica holds every edit');
    await waitFor(() => node.doc.replica.size === 5, 10_000, 'the Node client gets the Rust edits');
    assert.deepEqual([...node.doc.replica.values()].sort(), want);
    await waitFor(async () => JSON.stringify((await page.evaluate(() => window.cart.snapshot())).items.slice().sort()) === JSON.stringify(want), 10_000, 'the page gets the Rust edits');
    // A removal made in Rust reaches the others.
    const out2 = await rustPeer(['--url', `ws://127.0.0.1:${server.port}`, '--room', room, '--until-size', '5', '--remove', 'to-remove', '--timeout-secs', '30']);
    assert.deepEqual(out2.split('\n').slice(1).filter(Boolean).sort(), want.filter((x) => x !== 'to-remove'));
    await waitFor(() => node.doc.replica.size === 4 && !node.doc.replica.has('to-remove'), 10_000, 'the Rust removal reaches Node');
    await waitFor(async () => !(await page.evaluate(() => window.cart.snapshot())).items.includes('to-remove'), 10_000, 'the Rust removal reaches the page');
    assert.deepEqual(errors, []);
  } finally {
    node.provider.destroy();
    await chromium?.close();
    await server.kill();
  }
});
