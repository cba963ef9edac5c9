// A lossy, duplicating, reordering WebSocket proxy for the tests (loopback only). Every client
// connection gets its own upstream connection to the target. The session's messages (SYNC,
// PULL, DELTA frames) are dropped, duplicated and delayed at random (so they arrive out of
// order); the control frames (JOIN, JOINED, STATUS, ERROR, LEAVE) pass in order, as TCP would
// carry them. `offline = true` cuts every connection and refuses new ones.
import { WebSocketServer, WebSocket } from 'ws';
import { rng } from './util.mjs';

const LOSSY = new Set([3, 4, 17]);

export async function startProxy(targetPort, { drop = 0.2, dup = 0.1, maxDelayMs = 40, seed = 1 } = {}) {
  const random = rng(seed);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  const pairs = new Set();
  const stats = { forwarded: 0, dropped: 0, duplicated: 0, delayed: 0 };
  const proxy = {
    port: wss.address().port,
    stats,
    targetPort,
    offline: false,
    setOffline(v) {
      proxy.offline = v;
      if (v) for (const p of pairs) p.close();
    },
    /** Cuts every current connection (clients reconnect). */
    cut() {
      for (const p of pairs) p.close();
    },
    close() {
      for (const p of pairs) p.close();
      return new Promise((r) => wss.close(r));
    },
  };
  wss.on('connection', (down, req) => {
    if (proxy.offline) return down.terminate();
    const up = new WebSocket(`ws://127.0.0.1:${proxy.targetPort}${req.url}`);
    const pending = [];
    let open = false;
    const pair = {
      close() {
        down.terminate();
        up.terminate();
        pairs.delete(pair);
      },
    };
    pairs.add(pair);
    const forward = (to, data) => {
      const bytes = new Uint8Array(data);
      const send = () => to.readyState === 1 && to.send(bytes);
      if (!LOSSY.has(bytes[0])) return send();
      if (random() < drop) return void stats.dropped++;
      const copies = random() < dup ? 2 : 1;
      if (copies === 2) stats.duplicated++;
      for (let i = 0; i < copies; i++) {
        const delay = random() * maxDelayMs;
        stats.delayed++;
        setTimeout(() => {
          stats.forwarded++;
          send();
        }, delay);
      }
    };
    up.on('open', () => {
      open = true;
      for (const d of pending.splice(0)) forward(up, d);
    });
    down.on('message', (d) => (open ? forward(up, d) : pending.push(d)));
    up.on('message', (d) => forward(down, d));
    const end = () => pair.close();
    up.on('close', end);
    down.on('close', end);
    up.on('error', end);
    down.on('error', end);
  });
  return proxy;
}
