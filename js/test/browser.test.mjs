// A real browser: headless Chromium loads the browser build from a local server; two pages
// (one on the default entry, one on the slim entry) sync through BroadcastChannel and converge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { withTimeout } from './util.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const types = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };

/** Serves js/dist and the test page on 127.0.0.1, on a free port. */
function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = url.pathname === '/' ? 'test/fixtures/browser-page.html' : url.pathname.slice(1);
    const full = path.join(root, file);
    if (!full.startsWith(path.join(root, 'dist')) && file !== 'test/fixtures/browser-page.html') {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(full, (err, body) => {
      if (err) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': types[path.extname(full)] ?? 'application/octet-stream' }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('two Chromium pages converge over BroadcastChannel', { timeout: 90_000 }, async () => {
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}/`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-chromium-'));
  let context;
  try {
    context = await withTimeout(
      chromium.launchPersistentContext(profile, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        timeout: 30_000,
        args: [
          '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
        ],
      }),
      40_000,
      'Chromium starts',
    );
    const errors = [];
    const open = async (query) => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(base + query, { timeout: 20_000 });
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
      return page;
    };
    const a = await open('?id=1');
    const b = await open('?id=2#slim');
    assert.equal(await a.evaluate(() => window.entry), 'browser');
    assert.equal(await b.evaluate(() => window.entry), 'slim');
    await a.evaluate(() => window.edit('a', 100));
    await b.evaluate(() => window.edit('b', 100));
    // Deltas flow as they are made; catch-up repairs anything a page missed.
    await a.evaluate(() => window.catchUp());
    await b.evaluate(() => window.catchUp());
    const expectedSize = 2 * 99;
    const converged = async () => {
      for (;;) {
        const [sa, sb] = await Promise.all([a.evaluate(() => window.snapshot()), b.evaluate(() => window.snapshot())]);
        if (sa === sb && JSON.parse(sa).set.length === expectedSize) return JSON.parse(sa);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const state = await withTimeout(converged(), 20_000, 'both pages hold the same state');
    assert.equal(state.counter, 2 * (50 * 1 + 50 * -2));
    assert.ok(state.set.includes('a1') && state.set.includes('b99') && !state.set.includes('a0'));
    assert.deepEqual(errors, []);
  } finally {
    await context?.close().catch(() => {});
    await new Promise((r) => server.close(r));
    server.closeAllConnections?.();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
