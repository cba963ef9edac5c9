// The whole system with real parts: a real server process with file storage and tokens; two
// Chromium pages (two isolated profiles) running the cart demo and several Node clients, all
// syncing through lossy, duplicating, reordering WebSocket proxies; connections cut; the
// server SIGKILLed twice mid-run and restarted from its files; a page that edits offline,
// reloads from IndexedDB and syncs after; a departed client whose acknowledged edits only the
// server holds; HTTP POSTs; unauthorized and read-only clients. At the end every replica
// holds the same state, and the oracle of every edit (in particular every acknowledged one)
// finds nothing lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ORSet, PNCounter } from 'deltacrdt/sync';
import { startProxy } from './proxy.mjs';
import { spawnServer, nodeClient, waitFor, launchChromium, openPage, getState, tmpDir } from './helpers.mjs';
import { rng, withTimeout } from './util.mjs';

const W = 'write-secret';
const R = 'read-secret';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('pages and Node clients converge through a lossy proxy, server SIGKILLs, offline reload', { timeout: 150_000 }, async (t) => {
  const data = tmpDir('e2e');
  // The demo opens one PNCounter room per SKU in the cart (until an ORMap holds them): about 200 rooms per
  // page here, past the default 64 per connection.
  const args = (port) => ['--port', String(port), '--data', data, '--write-token', W, '--read-token', R,
    '--max-rooms-per-connection', '1024', '--messages-per-second', '20000'];
  let srv = await spawnServer(args(0));
  const port = srv.port;
  const proxy = await startProxy(port, { seed: 7, drop: 0.2, dup: 0.1 });
  const proxyA = await startProxy(port, { seed: 8, drop: 0.2, dup: 0.1 });
  const viaProxy = `ws://127.0.0.1:${proxy.port}`;
  const cart = `e2e${process.pid}`;
  const itemsRoom = `cart/${cart}/items`;
  const appleRoom = `cart/${cart}/qty/apple`;
  const oracle = { items: new Set(), apple: 0, ackedOnlyAtServer: new Set() };
  const random = rng(42);
  const clients = [];
  let chromium;
  const errors = [];
  try {
    // --- Node clients, through the lossy proxy.
    for (let i = 0; i < 3; i++) {
      const items = nodeClient(viaProxy, itemsRoom, 'ORSet', { token: W, share: `n${i}` });
      const apple = nodeClient(viaProxy, appleRoom, 'PNCounter', { token: W, share: `n${i}` });
      clients.push({ name: `n${i}`, items, apple, n: 0 });
    }
    // Two rooms per client share one connection (multiplexing).
    assert.equal(clients[0].items.provider.connection, clients[0].apple.provider.connection);

    // --- Two Chromium "browsers" on the cart demo, page A through its own proxy.
    chromium = await launchChromium();
    const ctxA = await chromium.browser.newContext();
    const ctxB = await chromium.browser.newContext();
    const demo = (proxyPort) => `http://127.0.0.1:${port}/demo/?cart=${cart}&token=${W}&ws=${encodeURIComponent(`ws://127.0.0.1:${proxyPort}`)}`;
    let pageA = await openPage(ctxA, demo(proxyA.port), errors);
    const pageB = await openPage(ctxB, demo(proxy.port), errors);

    // --- The edit loop, with events along the way.
    let pageN = 0;
    const editRound = async () => {
      for (const c of clients) {
        const sku = `${c.name}-${++c.n}`;
        c.items.doc.replica.add(sku);
        oracle.items.add(sku);
        const k = 1 + Math.floor(random() * 3);
        c.apple.doc.replica.inc(k);
        oracle.apple += k;
      }
      pageN++;
      for (const [name, page] of [['pa', pageA], ['pb', pageB]]) {
        await page.evaluate((s) => window.cart.add(s), `${name}-${pageN}`);
        oracle.items.add(`${name}-${pageN}`);
        await page.evaluate(() => window.cart.add('apple'));
        oracle.items.add('apple');
        oracle.apple += 1;
      }
    };
    const departed = async (tag) => {
      // A client that edits, waits until the server acknowledged, and goes away: afterwards
      // only the server (its files) holds these edits.
      const d = nodeClient(`ws://127.0.0.1:${port}`, itemsRoom, 'ORSet', { token: W, share: tag });
      for (let i = 0; i < 20; i++) d.doc.replica.add(`${tag}-${i}`);
      await waitFor(() => d.provider.synced, 15_000, `${tag} acknowledged`);
      for (let i = 0; i < 20; i++) {
        oracle.items.add(`${tag}-${i}`);
        oracle.ackedOnlyAtServer.add(`${tag}-${i}`);
      }
      d.provider.destroy();
      await d.doc.close();
    };
    const httpPost = async (tag) => {
      const o = new ORSet();
      o.add(tag);
      const delta = o.takeDelta();
      o.free();
      const url = `http://127.0.0.1:${port}/rooms/${encodeURIComponent(itemsRoom)}`;
      const r1 = await fetch(url, { method: 'POST', body: delta, headers: { authorization: `Bearer ${W}` } });
      assert.equal(r1.status, 200);
      const j1 = await r1.json();
      assert.equal(j1.changed, true);
      // Idempotent: the same delta again is no effect and the same ETag.
      const r2 = await fetch(url, { method: 'POST', body: delta, headers: { authorization: `Bearer ${W}` } });
      const j2 = await r2.json();
      assert.equal(j2.changed, false);
      assert.equal(j2.etag, r2.headers.get('etag'));
      oracle.items.add(tag);
      oracle.ackedOnlyAtServer.add(tag);
    };

    const restart = async (label) => {
      await srv.kill('SIGKILL');
      await sleep(200);
      srv = await spawnServer(args(port));
      t.diagnostic(`${label}: server SIGKILLed and restarted from ${data}`);
    };

    for (let round = 1; round <= 30; round++) {
      await editRound();
      if (round === 4) await departed('gone-a');
      if (round === 5) await httpPost('http-a');
      if (round === 8) proxy.cut();
      if (round === 10) await restart('kill 1 (mid-run, clients editing)');
      if (round === 12) {
        // Page A goes offline, edits, reloads from IndexedDB, then comes back.
        proxyA.setOffline(true);
        await waitFor(() => pageA.evaluate(() => window.cart.status().status !== 'connected'), 10_000, 'page A offline');
        for (let i = 0; i < 5; i++) {
          await pageA.evaluate((s) => window.cart.add(s), `pa-offline-${i}`);
          oracle.items.add(`pa-offline-${i}`);
          await pageA.evaluate(() => window.cart.add('apple'));
          oracle.apple += 1;
        }
        await pageA.evaluate(() => window.cart.flush());
        await pageA.reload({ timeout: 20_000 });
        await pageA.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
        const snap = await pageA.evaluate(() => window.cart.snapshot());
        for (let i = 0; i < 5; i++) assert.ok(snap.items.includes(`pa-offline-${i}`), 'offline edits survive the reload (IndexedDB)');
        assert.notEqual(await pageA.evaluate(() => window.cart.status().status), 'connected');
        proxyA.setOffline(false);
      }
      if (round === 16) await departed('gone-b');
      if (round === 17) await httpPost('http-b');
      if (round === 18) {
        // Kill right after acknowledgements: the departed client's and the POSTs' edits are
        // only in the server's files now.
        await restart('kill 2 (just after acknowledged edits of departed clients)');
        const s = await waitFor(async () => {
          const r = await getState(srv.port, itemsRoom, R);
          return r.status === 200 ? r : undefined;
        }, 10_000, 'room readable after restart');
        const o = ORSet.fromBytes(s.bytes);
        const have = new Set(o.values());
        o.free();
        for (const x of oracle.ackedOnlyAtServer) assert.ok(have.has(x), `acknowledged edit ${x} survived the SIGKILL`);
      }
      if (round === 22) proxy.cut();
      await sleep(60);
    }

    // --- Authorization through the real server: unauthorized and read-only clients.
    const intruder = nodeClient(`ws://127.0.0.1:${port}`, itemsRoom, 'ORSet', { token: 'wrong', share: 'intruder' });
    intruder.doc.replica.add('intruder');
    const reader = nodeClient(`ws://127.0.0.1:${port}`, itemsRoom, 'ORSet', { token: R, share: 'reader' });
    reader.doc.replica.add('reader-local');
    await waitFor(() => intruder.errors.some((e) => e.name === 'FORBIDDEN'), 10_000, 'intruder refused');

    // --- Convergence.
    const expectedItems = [...oracle.items].sort();
    const serverItems = async () => {
      const s = await getState(port, itemsRoom, R);
      if (s.status !== 200) return undefined;
      const o = ORSet.fromBytes(s.bytes);
      try {
        return o.values().slice().sort();
      } finally {
        o.free();
      }
    };
    const serverApple = async () => {
      const s = await getState(port, appleRoom, R);
      if (s.status !== 200) return undefined;
      const o = PNCounter.fromBytes(s.bytes);
      try {
        return o.value;
      } finally {
        o.free();
      }
    };
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    await waitFor(async () => {
      const si = await serverItems();
      const sa = await serverApple();
      if (!same(si, expectedItems) || sa !== oracle.apple) return false;
      for (const c of clients) {
        if (!same(c.items.doc.replica.values().slice().sort(), expectedItems)) return false;
        if (c.apple.doc.replica.value !== oracle.apple) return false;
      }
      const snaps = [];
      for (const page of [pageA, pageB]) {
        const snap = await page.evaluate(() => window.cart.snapshot());
        if (!same(snap.items.slice().sort(), expectedItems) || snap.qty.apple !== oracle.apple) return false;
        // Every SKU a page added has quantity 1 (apple aside), the others 0.
        for (const sku of expectedItems) {
          if (sku === 'apple') continue;
          if (snap.qty[sku] !== (/^p[ab]-/.test(sku) ? 1 : 0)) return false;
        }
        snaps.push(JSON.stringify(snap));
      }
      if (snaps[0] !== snaps[1]) return false;
      return same(reader.doc.replica.values().filter((x) => x !== 'reader-local').sort(), expectedItems);
    }, 60_000, 'every replica converges to the oracle', 200);

    // Once converged, every provider says so.
    await waitFor(async () => clients.every((c) => c.items.provider.synced && c.apple.provider.synced)
      && (await pageA.evaluate(() => window.cart.allSynced())) && (await pageB.evaluate(() => window.cart.allSynced())),
    20_000, 'every provider reports synced', 100);

    // The unauthorized client read nothing and changed nothing; the reader's edit stayed local.
    assert.deepEqual(intruder.doc.replica.values(), ['intruder']);
    const final = await serverItems();
    assert.ok(!final.includes('intruder') && !final.includes('reader-local'));
    assert.equal(reader.provider.access, 'read');

    // ETag and 304 on the real server.
    const s1 = await getState(port, itemsRoom, R);
    const r304 = await fetch(`http://127.0.0.1:${port}/rooms/${encodeURIComponent(itemsRoom)}`, {
      headers: { authorization: `Bearer ${R}`, 'if-none-match': s1.etag },
    });
    assert.equal(r304.status, 304);
    const noToken = await fetch(`http://127.0.0.1:${port}/rooms/${encodeURIComponent(itemsRoom)}`);
    assert.equal(noToken.status, 403);

    t.diagnostic(`items ${expectedItems.length}, apple ${oracle.apple}, proxy ${JSON.stringify(proxy.stats)}, proxyA ${JSON.stringify(proxyA.stats)}`);
    t.diagnostic(`reconnects of client n0: ${clients[0].items.provider.connection.reconnects}`);
    assert.ok(proxy.stats.dropped > 0 && proxy.stats.duplicated > 0, 'the proxy did lose and duplicate messages');
    assert.deepEqual(errors, []);
    for (const page of [pageA, pageB]) assert.equal(await page.evaluate(() => window.lastServerError ?? null), null);
    for (const c of clients) assert.deepEqual([...c.items.errors, ...c.apple.errors], []);
    intruder.provider.destroy();
    reader.provider.destroy();
  } finally {
    for (const c of clients) {
      c.items.provider.destroy();
      c.apple.provider.destroy();
    }
    await chromium?.close();
    await proxy.close();
    await proxyA.close();
    await srv.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  }
});
