// Two Node processes sync an ORSet and a PNCounter over a real WebSocket until they converge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './util.mjs';

const peer = fileURLToPath(new URL('./fixtures/ws-peer.mjs', import.meta.url));

/** Spawns a peer; resolves lines matching `prefix`. */
function start(args) {
  const child = spawn(process.execPath, [peer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.slice()) w();
  });
  child.stderr.on('data', (d) => (err += d));
  const line = (prefix) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const l = out.split('\n').find((x) => x.startsWith(prefix));
        if (l !== undefined) resolve(l.slice(prefix.length));
      };
      waiters.push(check);
      check();
      child.on('exit', (code) => reject(new Error(`peer ${args[0]} exited (${code}) before "${prefix}": ${err}`)));
    });
  return { child, line };
}

test('two processes converge over a WebSocket despite lost messages', async () => {
  const server = start(['server']);
  let client;
  try {
    const port = await withTimeout(server.line('PORT '), 10_000, 'server port');
    client = start(['client', port]);
    const [a, b] = await withTimeout(
      Promise.all([server.line('STATE '), client.line('STATE ')]),
      20_000,
      'both peers report their state',
    );
    const sa = JSON.parse(a);
    const sb = JSON.parse(b);
    assert.deepEqual(sa, sb);
    // 300 adds per side, minus the removes of i-7 for i % 7 == 0 (i >= 7): 42 per side.
    assert.equal(sa.set.length, 2 * (300 - 42));
    assert.equal(sa.counter, 300 * 2 - 300);
  } finally {
    server.child.kill();
    client?.child.kill();
  }
});
