// WebSocket sync client: edits a shared shopping list, sends its pending delta group a few times
// a second, and merges what the server relays. Run several: they converge.
// Usage: node client.mjs <ws-url> <name> [seconds]
import { WebSocket } from 'ws';
import { GCounter, ORSet } from 'deltacrdt';
import { frame } from './server.mjs';

export function runClient(url, name, seconds, log = console.log) {
  const list = new ORSet();
  const edits = new GCounter();
  const objects = [list, edits];
  const ws = new WebSocket(url);
  let sendTimer;
  let editTimer;
  let n = 0;
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => {
      // Ask for what we lack (the server also asks us).
      for (const [index, o] of objects.entries()) ws.send(frame(1, index, o.version()));
      editTimer = setInterval(() => {
        n++;
        list.add(`${name}: item ${n}`);
        if (n % 3 === 0) list.remove(`${name}: item ${n - 1}`);
        edits.inc();
      }, 50);
      // Batch: one message per object per tick, however many edits happened.
      sendTimer = setInterval(() => {
        for (const [index, o] of objects.entries()) {
          const delta = o.takeDelta();
          if (delta) ws.send(frame(0, index, delta));
        }
      }, 200);
      setTimeout(() => {
        clearInterval(editTimer);
        clearInterval(sendTimer);
        for (const [index, o] of objects.entries()) {
          const delta = o.takeDelta();
          if (delta) ws.send(frame(0, index, delta));
          ws.send(frame(1, index, o.version())); // final catch-up
        }
        setTimeout(() => {
          log(`${name}: ${list.size} items, ${edits.value} edits in total`);
          ws.close();
          resolve({ items: list.values(), edits: edits.value });
        }, 500);
      }, seconds * 1000);
    });
    ws.on('message', (data) => {
      const msg = new Uint8Array(data);
      const [kind, index] = msg;
      const o = objects[index];
      if (!o) return;
      if (kind === 1) ws.send(frame(2, index, o.deltaSince(msg.subarray(2))));
      else o.merge(msg.subarray(2), 'server');
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url = 'ws://127.0.0.1:8787', name = 'client', seconds = '5'] = process.argv.slice(2);
  await runClient(url, name, Number(seconds));
}
