// One command for the WebSocket example: a server and three clients (each its own process),
// editing concurrently for a few seconds; prints whether they converged.
// Usage: npm --prefix js run example:ws   [-- <seconds>]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';

const seconds = Number(process.argv[2] ?? 3);
const { wss, port, objects } = await startServer();
console.log(`server on ws://127.0.0.1:${port}`);
const client = fileURLToPath(new URL('./client.mjs', import.meta.url));
const names = ['alice', 'bob', 'carol'];
const outputs = await Promise.all(
  names.map(
    (name) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [client, `ws://127.0.0.1:${port}`, name, String(seconds)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        const timer = setTimeout(() => child.kill(), (seconds + 20) * 1000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          process.stdout.write(out);
          code === 0 ? resolve(out.trim()) : reject(new Error(`${name} exited with ${code}`));
        });
      }),
  ),
);
const [list, edits] = objects;
console.log(`server: ${list.size} items, ${edits.value} edits in total`);
const summaries = outputs.map((o) => o.split(': ').slice(1).join(': '));
const converged = summaries.every((s) => s === `${list.size} items, ${edits.value} edits in total`);
console.log(converged ? 'all replicas converged' : 'replicas differ');
wss.close();
process.exit(converged ? 0 : 1);
