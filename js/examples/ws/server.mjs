// WebSocket sync server: keeps its own replica of a shared shopping list (ORSet) and a counter
// of edits (GCounter), relays every delta to the other clients, and catches each new client up.
//
// Protocol (binary frames): [kind, object, ...bytes] with object 0 = list, 1 = counter and
//   kind 0 = delta (merge it), 1 = version (reply with the delta the sender lacks), 2 = catch-up.
import { WebSocketServer } from 'ws';
import { GCounter, ORSet } from 'deltacrdt';

export function frame(kind, object, bytes) {
  const out = new Uint8Array(2 + bytes.length);
  out[0] = kind;
  out[1] = object;
  out.set(bytes, 2);
  return out;
}

export function startServer({ port = 0, host = '127.0.0.1', log = console.log } = {}) {
  const objects = [new ORSet(0), new GCounter(0)];
  const wss = new WebSocketServer({ host, port });
  wss.on('connection', (ws) => {
    for (const [index, o] of objects.entries()) ws.send(frame(1, index, o.version()));
    ws.on('message', (data) => {
      const msg = new Uint8Array(data);
      const [kind, index] = msg;
      const body = msg.subarray(2);
      const o = objects[index];
      if (!o) return;
      try {
        if (kind === 0 || kind === 2) {
          if (o.merge(body, ws)) {
            // Forward the delta as it came; the sender already has it.
            for (const peer of wss.clients) if (peer !== ws && peer.readyState === 1) peer.send(frame(0, index, body));
          }
        } else if (kind === 1) {
          ws.send(frame(2, index, o.deltaSince(body)));
        }
      } catch (e) {
        log(`server: refused a message: ${e.message}`);
      }
    });
  });
  return new Promise((resolve) =>
    wss.on('listening', () => resolve({ wss, port: wss.address().port, objects })),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 8787);
  const { port: actual } = await startServer({ port });
  console.log(`deltacrdt sync server on ws://127.0.0.1:${actual}`);
}
