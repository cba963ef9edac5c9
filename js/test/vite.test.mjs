// The "packed tarball in a fresh Vite app" check: `npm pack`, install the tarball into a new
// app (test/fixtures/vite-cart), `vite build` it, and have two Chromium pages sync an ORMap
// cart through one SyncSession each, relaying session messages over BroadcastChannel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { withTimeout } from './util.mjs';

const js = fileURLToPath(new URL('..', import.meta.url));
const types = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };

function serve(dir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/favicon.ico') return res.writeHead(204).end();
    const file = path.join(dir, url.pathname === '/' ? 'index.html' : url.pathname.slice(1));
    if (!file.startsWith(dir)) return res.writeHead(404).end();
    fs.readFile(file, (err, body) => {
      if (err) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('a packed tarball in a fresh Vite app syncs an ORMap cart between two Chromium pages', { timeout: 180_000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-vite-'));
  let server;
  let context;
  try {
    const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'pipe', timeout: 90_000 }).toString();
    const packed = run('npm', ['pack', '--silent', '--pack-destination', work], js).trim().split('\n').pop();
    const app = path.join(work, 'app');
    fs.cpSync(path.join(js, 'test/fixtures/vite-cart'), app, { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'cart-app', private: true, type: 'module' }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(work, packed)], app);
    run(process.execPath, [path.join(js, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);
    server = await serve(path.join(app, 'dist'));
    const base = `http://127.0.0.1:${server.address().port}/`;
    context = await withTimeout(
      chromium.launchPersistentContext(path.join(work, 'profile'), {
        executablePath: '/usr/bin/chromium',
        headless: true,
        timeout: 30_000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--no-first-run'],
      }),
      40_000,
      'Chromium starts',
    );
    const errors = [];
    const open = async (id) => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`${base}?id=${id}`, { timeout: 20_000 });
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
      return page;
    };
    const a = await open(1);
    const b = await open(2);
    assert.equal(await a.evaluate(() => window.isMap), true);
    await a.evaluate(() => window.edit('alice', 'milk', 2));
    await b.evaluate(() => window.edit('bob', 'eggs', 12));
    const converge = async (want) => {
      for (;;) {
        const [sa, sb] = await Promise.all([a.evaluate(() => window.snapshot()), b.evaluate(() => window.snapshot())]);
        if (sa === sb && sa === want) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await withTimeout(converge(JSON.stringify({ alice: { milk: 2 }, bob: { eggs: 12 } })), 20_000, 'both pages hold the cart');
    // Concurrently: page a removes Alice's line, page b adds one more milk; the +1 survives.
    await Promise.all([a.evaluate(() => window.removeLine('alice')), b.evaluate(() => window.edit('alice', 'milk', 1))]);
    await withTimeout(converge(JSON.stringify({ alice: { milk: 1 }, bob: { eggs: 12 } })), 20_000, 'remove + concurrent +1');
    const changes = await b.evaluate(() => window.changes);
    assert.ok(changes.some((c) => c.origin === '1' && c.paths.some((p) => p[0] === 'alice')), JSON.stringify(changes));
    assert.deepEqual(errors, []);
  } finally {
    await context?.close().catch(() => {});
    if (server) await new Promise((r) => server.close(r));
    fs.rmSync(work, { recursive: true, force: true });
  }
});
