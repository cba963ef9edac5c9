// Serves the browser example and the built package on http://127.0.0.1:8080/ (PORT to change).
// Usage: npm --prefix js run example:browser   (after scripts/build-wasm)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const types = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://x');
  const file = pathname === '/' ? 'examples/browser/index.html' : pathname.slice(1);
  const full = path.normalize(path.join(root, file));
  if (!(full.startsWith(path.join(root, 'dist') + path.sep) || file === 'examples/browser/index.html')) {
    res.writeHead(404).end('not found');
    return;
  }
  fs.readFile(full, (err, body) => {
    if (err) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': types[path.extname(full)] ?? 'application/octet-stream' }).end(body);
  });
});
const port = Number(process.env.PORT ?? 8080);
server.listen(port, '127.0.0.1', () => {
  console.log(`open http://127.0.0.1:${server.address().port}/ in several tabs (Ctrl-C to stop)`);
});
