// Chromium loads the dashboard served by a real server process while clients sync, and checks
// it shows their real data: one row per replica with the ids the server reports, a chart that
// has drawn, and samples over time. Writes the screenshot committed as js/server/dashboard.png
// when DELTACRDT_SCREENSHOT is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnServer, nodeClient, waitFor, launchChromium, openPage, serverDir, tmpDir } from './helpers.mjs';
import { startProxy } from './proxy.mjs';

test('the dashboard shows live lag and convergence of real replicas', { timeout: 90_000 }, async () => {
  const data = tmpDir('dash');
  const srv = await spawnServer(['--port', '0', '--data', data]);
  const proxy = await startProxy(srv.port, { seed: 11, drop: 0.3, dup: 0.1, maxDelayMs: 80 });
  const clients = [];
  let chromium;
  let timer;
  try {
    for (let i = 0; i < 4; i++) {
      clients.push(nodeClient(`ws://127.0.0.1:${proxy.port}`, 'cart/dash/items', 'ORSet', { share: `c${i}` }));
      clients.push(nodeClient(`ws://127.0.0.1:${proxy.port}`, 'cart/dash/qty/apple', 'PNCounter', { share: `c${i}` }));
    }
    let n = 0;
    timer = setInterval(() => {
      for (const [i, c] of clients.entries()) {
        if (c.doc.kind === 'ORSet') for (let k = 0; k < 5; k++) c.doc.replica.add(`c${i}-${n}-${k}`);
        else c.doc.replica.inc(1);
      }
      n++;
    }, 40);
    chromium = await launchChromium();
    const ctx = await chromium.browser.newContext({ viewport: { width: 1180, height: 1100 } });
    const errors = [];
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${srv.port}/dashboard?every=250`, { timeout: 20_000 });
    await page.waitForFunction((n) => window.samples >= 12 && window.lastStats.peers.length === n
      && document.querySelectorAll('#peers tbody tr').length === n, clients.length, { timeout: 30_000 });
    const [rows, stats] = await page.evaluate(() => [
      [...document.querySelectorAll('#peers tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
      window.lastStats,
    ]);
    assert.equal(rows.length, clients.length, 'one row per replica');
    const ids = new Set(clients.map((c) => c.doc.replicaId.toString(16)));
    for (const r of rows) assert.ok(ids.has(r[1]), `row of a real replica ${r[1]}`);
    for (const [i, p] of stats.peers.entries()) assert.equal(rows[i][7], String(p.bytesReceived), 'the table shows the server figures');
    assert.ok(rows.some((r) => Number(r[7]) > 0), 'bytes received shown');
    // The charts drew something (non-white pixels in the plot area).
    const inked = await page.evaluate(() => {
      const c = document.getElementById('lag');
      const px = c.getContext('2d').getImageData(41, 11, c.width - 52, c.height - 32).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    });
    assert.ok(inked > 200, `the lag chart has drawn (${inked} pixels)`);
    // Stop editing: the chart then shows everyone converging.
    clearInterval(timer);
    timer = undefined;
    await page.waitForFunction(() => {
      const s = window.lastStats;
      return s && s.peers.length > 0 && s.peers.every((p) => p.lacking === 0);
    }, null, { timeout: 30_000 });
    await page.waitForFunction(() => window.samples >= 40, null, { timeout: 30_000 });
    const summary = await page.textContent('#summary');
    assert.match(summary, new RegExp(`${clients.length}/${clients.length} converged`));
    if (process.env.DELTACRDT_SCREENSHOT) {
      await page.screenshot({ path: path.join(serverDir, 'dashboard.png'), fullPage: true });
    }
    assert.deepEqual(errors, []);
  } finally {
    clearInterval(timer);
    for (const c of clients) c.provider.destroy();
    await chromium?.close();
    await proxy.close();
    await srv.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  }
});
