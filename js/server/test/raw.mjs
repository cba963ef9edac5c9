// A raw protocol client for the tests: sends any bytes, records every frame received.
import { WebSocket } from 'ws';
import { decodeFrame, decodeError, encodeFrame } from 'deltacrdt-provider/protocol';
import { waitFor } from './helpers.mjs';

export async function raw(port, token) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${token ? `?token=${token}` : ''}`);
  const frames = [];
  ws.on('message', (d) => {
    const f = decodeFrame(new Uint8Array(d));
    if (f.type === 19) f.error = decodeError(f.payload);
    frames.push(f);
  });
  await new Promise((r, j) => {
    ws.on('open', r);
    ws.on('error', j);
  });
  return {
    ws,
    frames,
    send: (type, room, payload) => ws.send(encodeFrame(type, room, payload)),
    sendRaw: (bytes, binary = true) => ws.send(bytes, { binary }),
    errors: () => frames.filter((f) => f.type === 19).map((f) => f.error.name),
    waitError: (name, ms = 5000) => waitFor(() => frames.find((f) => f.type === 19 && f.error.name === name), ms, `an ${name} error frame`),
    waitFrame: (type, ms = 5000) => waitFor(() => frames.find((f) => f.type === type), ms, `a frame of type ${type}`),
    close: () => ws.terminate(),
  };
}
