#!/usr/bin/env node
// @ts-check
// deltacrdt-server: the sync server, one command.
//   npx deltacrdt-server --port 8787 --data ./data [--host 127.0.0.1]
//                        [--write-token T] [--read-token T] [--idle-room-ms 30000] [--max-rooms N]
//                        [--max-rooms-per-connection 64] [--messages-per-second 1000] [--max-message-bytes N]
//                        [--pg postgres://user@host:port/db] [--redis redis://host:port] [--instance NAME]
// --pg stores the rooms in PostgreSQL (rows of namespace NAME) instead of --data; --redis makes this
// instance one of several serving the same rooms (each with its own --instance name and storage).
// With --write-token and/or --read-token, clients must present one (?token= or Bearer);
// without either, everyone may read and write (development).
import { startServer } from '../src/server.js';
import { PgStorage } from '../src/pg-storage.js';
import { RedisCluster } from '../src/redis-cluster.js';

/** @type {Record<string, string>} */
const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] ?? '';
  if (a === '--help' || a === '-h') {
    console.log('usage: deltacrdt-server [--port 8787] [--host 127.0.0.1] [--data DIR] [--write-token T] [--read-token T]\n'
      + '         [--idle-room-ms 30000] [--max-rooms 10000] [--max-rooms-per-connection 64] [--messages-per-second 1000]\n'
      + '         [--max-message-bytes 1048576] [--no-demo] [--pg URL] [--redis URL] [--instance NAME]');
    process.exit(0);
  }
  if (!a.startsWith('--')) {
    console.error(`deltacrdt-server: unexpected argument ${a}`);
    process.exit(2);
  }
  const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) : [a.slice(2), a.startsWith('--no-') ? 'true' : argv[++i]];
  if (k === undefined || v === undefined) {
    console.error(`deltacrdt-server: ${a} needs a value`);
    process.exit(2);
  }
  args[k] = v;
}
const num = (/** @type {string} */ k, /** @type {number} */ d) => {
  const v = args[k];
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`deltacrdt-server: --${k} must be a number`);
    process.exit(2);
  }
  return n;
};
const writeToken = args['write-token'];
const readToken = args['read-token'];
const authorize = writeToken === undefined && readToken === undefined
  ? undefined
  : (/** @type {import('../src/server.js').AuthRequest} */ { token }) =>
    token !== undefined && token === writeToken ? 'write' : token !== undefined && token === readToken ? 'read' : 'none';
const instance = args.instance ?? 'default';
/** @type {import('../src/server.js').Server} */
let server;
try {
  server = await startServer({
    port: num('port', 8787),
    host: args.host ?? '127.0.0.1',
    data: args.data,
    storage: args.pg ? new PgStorage(args.pg, { namespace: instance }) : undefined,
    cluster: args.redis ? new RedisCluster({ url: args.redis, instance, log: (m) => console.error(m) }) : undefined,
    authorize,
    demo: args['no-demo'] === undefined,
    limits: {
      idleRoomMs: num('idle-room-ms', 30_000),
      maxRooms: num('max-rooms', 10_000),
      maxRoomsPerConnection: num('max-rooms-per-connection', 64),
      messagesPerSecond: num('messages-per-second', 1000),
      maxMessageBytes: num('max-message-bytes', 1 << 20),
    },
    log: (m) => console.error(m),
  });
} catch (e) {
  console.error(`deltacrdt-server: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
const where = `http://${args.host ?? '127.0.0.1'}:${server.port}`;
console.log(`deltacrdt-server listening on ws://${args.host ?? '127.0.0.1'}:${server.port} (data: ${args.pg ? 'postgresql' : args.data ?? 'memory only'}${args.redis ? `, instance ${instance} over redis` : ''})`);
console.log(`  cart demo: ${where}/demo/   dashboard: ${where}/dashboard   metrics: ${where}/metrics`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
