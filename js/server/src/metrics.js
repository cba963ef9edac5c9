// @ts-check
/**
 * Replication metrics of the server: per room and per peer what the peer lacks (payload units:
 * counter entries, dots, register writes), its estimated staleness, bytes and messages each
 * way, the room's delta buffer, refusals and catch-up (full-state fallback) deltas.
 *
 * Names follow the OpenTelemetry conventions (`deltacrdt.sync.peer.lacking`, unit `{unit}`;
 * `deltacrdt.sync.peer.io`, unit `By`, attribute `network.io.direction`), written in
 * Prometheus text the way OpenTelemetry's Prometheus exporter translates them (dots to
 * underscores, unit suffix, `_total` for counters). When the app has `@opentelemetry/api`,
 * the same instruments are registered as observable instruments on its meter.
 * @module
 */
import { ERROR_NAMES } from 'deltacrdt-provider/protocol';

/**
 * One peer's row.
 * @typedef {object} PeerRow
 * @property {string} room
 * @property {string} peer  replica id, hex
 * @property {'read' | 'write'} access
 * @property {number | null} lacking  payload units it lacks (null: unknown yet)
 * @property {number | null} unacked  buffered deltas it has not acknowledged
 * @property {number} stalenessMs
 * @property {number} bytesSent
 * @property {number} bytesReceived
 * @property {number} messagesSent
 * @property {number} messagesReceived
 * @property {number} catchUps
 * @property {number} refusals
 */

/**
 * @typedef {object} RoomRow
 * @property {string} room
 * @property {string} kind
 * @property {string} replica
 * @property {number} peers
 * @property {number} bufferBytes
 * @property {number} bufferDeltas
 * @property {number} refusals
 * @property {number} rejected
 * @property {number} generation
 */

/**
 * @typedef {object} Snapshot
 * @property {number} time
 * @property {number} uptimeMs
 * @property {number} connections
 * @property {number} roomsInMemory
 * @property {number} evictions
 * @property {number} framesIn
 * @property {number} bytesIn
 * @property {Record<string, number>} refusals
 * @property {RoomRow[]} rooms
 * @property {PeerRow[]} peers
 */

/** @param {string} s */
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export class Metrics {
  framesIn = 0;
  bytesIn = 0;
  httpPosts = 0;
  /** @type {Record<string, number>} */
  refusals = {};
  /** @type {Snapshot | undefined} */
  #cached;
  #cachedAt = 0;

  /** @param {import('./server.js').Server} server */
  constructor(server) {
    this.server = server;
    void this.#otel();
  }

  /** @param {number} code */
  refused(code) {
    const name = ERROR_NAMES[code] ?? String(code);
    this.refusals[name] = (this.refusals[name] ?? 0) + 1;
  }

  /**
   * The current figures (cached for 100 ms, so scrapes of many instruments share one walk).
   * @returns {Snapshot}
   */
  snapshot() {
    const now = Date.now();
    if (this.#cached && now - this.#cachedAt < 100) return this.#cached;
    /** @type {RoomRow[]} */
    const rooms = [];
    /** @type {PeerRow[]} */
    const peers = [];
    for (const r of this.server.rooms.values()) {
      if (r.doc.closed) continue;
      const st = r.doc.session.stats();
      rooms.push({
        room: r.name, kind: r.doc.kind, replica: r.doc.replicaId.toString(16), peers: r.peers.size,
        bufferBytes: st.bufferBytes, bufferDeltas: st.bufferLength, refusals: r.refusals, rejected: st.rejected,
        generation: r.doc.generation,
      });
      const byId = new Map(st.neighbours.map((n) => [n.id, n]));
      for (const p of r.peers.values()) {
        const n = byId.get(p.replicaId);
        const lacking = p.access === 'write' ? n?.lacking : p.pending ? undefined : p.version ? 0 : undefined;
        peers.push({
          room: r.name,
          peer: p.replicaId.toString(16),
          access: p.access === 'write' ? 'write' : 'read',
          lacking: lacking ?? null,
          unacked: n?.unacked ?? null,
          stalenessMs: p.staleSince && lacking !== 0 ? now - p.staleSince : 0,
          bytesSent: n?.bytesSent ?? p.readerBytesSent,
          bytesReceived: n?.bytesReceived ?? p.readerBytesReceived,
          messagesSent: n?.messagesSent ?? p.readerMessagesSent,
          messagesReceived: n?.messagesReceived ?? p.readerMessagesReceived,
          catchUps: n?.catchUpsSent ?? 0,
          refusals: p.refusals,
        });
      }
    }
    this.#cached = {
      time: now,
      uptimeMs: now - this.server.started,
      connections: this.server.conns.size,
      roomsInMemory: this.server.rooms.size,
      evictions: this.server.evictions,
      framesIn: this.framesIn,
      bytesIn: this.bytesIn,
      refusals: { ...this.refusals },
      rooms,
      peers,
    };
    this.#cachedAt = now;
    return this.#cached;
  }

  /** Prometheus text exposition. */
  prometheus() {
    const s = this.snapshot();
    /** @type {string[]} */
    const out = [];
    /**
     * @param {string} name
     * @param {'gauge' | 'counter'} type
     * @param {string} help
     * @param {Array<[Record<string, string>, number | null]>} rows
     */
    const metric = (name, type, help, rows) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) {
        if (v === null) continue;
        const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
        out.push(`${name}${l ? `{${l}}` : ''} ${v}`);
      }
    };
    const pl = (/** @type {PeerRow} */ p) => ({ room: p.room, peer: p.peer, access: p.access });
    metric('deltacrdt_sync_peer_lacking', 'gauge', 'Payload units (dots, counter entries, register writes) the peer lacks of the room replica (deltacrdt.sync.peer.lacking, {unit}).',
      s.peers.map((p) => [pl(p), p.lacking]));
    metric('deltacrdt_sync_peer_unacked', 'gauge', 'Buffered deltas the peer has not acknowledged (deltacrdt.sync.peer.unacked, {delta}).',
      s.peers.map((p) => [pl(p), p.unacked]));
    metric('deltacrdt_sync_peer_staleness_milliseconds', 'gauge', 'Estimated time since the peer last held everything the room holds (deltacrdt.sync.peer.staleness, ms).',
      s.peers.map((p) => [pl(p), p.stalenessMs]));
    metric('deltacrdt_sync_peer_io_bytes_total', 'counter', 'Bytes of session messages exchanged with the peer since it joined (deltacrdt.sync.peer.io, By).',
      s.peers.flatMap((p) => [[{ ...pl(p), network_io_direction: 'transmit' }, p.bytesSent], [{ ...pl(p), network_io_direction: 'receive' }, p.bytesReceived]]));
    metric('deltacrdt_sync_peer_messages_total', 'counter', 'Session messages exchanged with the peer since it joined (deltacrdt.sync.peer.messages, {message}).',
      s.peers.flatMap((p) => [[{ ...pl(p), network_io_direction: 'transmit' }, p.messagesSent], [{ ...pl(p), network_io_direction: 'receive' }, p.messagesReceived]]));
    metric('deltacrdt_sync_peer_catch_ups_total', 'counter', 'Catch-up deltas (the full-state fallback of the delta buffer) sent to the peer (deltacrdt.sync.peer.catch_ups, {delta}).',
      s.peers.map((p) => [pl(p), p.catchUps]));
    metric('deltacrdt_sync_peer_refusals_total', 'counter', 'Frames of the peer the server refused (deltacrdt.sync.peer.refusals, {frame}).',
      s.peers.map((p) => [pl(p), p.refusals]));
    const cl = this.server.cluster;
    if (cl) {
      metric('deltacrdt_cluster_io_bytes_total', 'counter', 'Bytes of session messages exchanged with the other instances through Redis since this process started (By).',
        [[{ network_io_direction: 'transmit' }, cl.bytesOut], [{ network_io_direction: 'receive' }, cl.bytesIn]]);
      metric('deltacrdt_cluster_messages_total', 'counter', 'Session messages exchanged with the other instances through Redis since this process started ({message}).',
        [[{ network_io_direction: 'transmit' }, cl.messagesOut], [{ network_io_direction: 'receive' }, cl.messagesIn]]);
      metric('deltacrdt_cluster_dropped_total', 'counter', 'Session messages to other instances not sent because Redis was unreachable ({message}).', [[{}, cl.dropped]]);
    }
    metric('deltacrdt_sync_buffer_size_bytes', 'gauge', 'Encoded bytes of the room\u2019s delta buffer (deltacrdt.sync.buffer.size, By).',
      s.rooms.map((r) => [{ room: r.room, kind: r.kind }, r.bufferBytes]));
    metric('deltacrdt_sync_buffer_deltas', 'gauge', 'Deltas in the room\u2019s buffer (deltacrdt.sync.buffer.deltas, {delta}).',
      s.rooms.map((r) => [{ room: r.room, kind: r.kind }, r.bufferDeltas]));
    metric('deltacrdt_sync_room_peers', 'gauge', 'Peers joined to the room (deltacrdt.sync.room.peers, {peer}).',
      s.rooms.map((r) => [{ room: r.room, kind: r.kind }, r.peers]));
    metric('deltacrdt_sync_room_refusals_total', 'counter', 'Frames and HTTP bodies the room refused (deltacrdt.sync.room.refusals, {frame}).',
      s.rooms.map((r) => [{ room: r.room, kind: r.kind }, r.refusals]));
    metric('deltacrdt_server_connections', 'gauge', 'Open WebSocket connections (deltacrdt.server.connections, {connection}).', [[{}, s.connections]]);
    metric('deltacrdt_server_rooms', 'gauge', 'Rooms held in memory (deltacrdt.server.rooms, {room}).', [[{}, s.roomsInMemory]]);
    metric('deltacrdt_server_evictions_total', 'counter', 'Idle rooms evicted to storage (deltacrdt.server.evictions, {room}).', [[{}, s.evictions]]);
    metric('deltacrdt_server_frames_received_total', 'counter', 'WebSocket frames received (deltacrdt.server.frames.received, {frame}).', [[{}, s.framesIn]]);
    metric('deltacrdt_server_refusals_total', 'counter', 'Frames and requests refused, by error (deltacrdt.server.refusals, {frame}).',
      Object.entries(s.refusals).map(([k, v]) => [{ error_type: k }, v]));
    return out.join('\n') + '\n';
  }

  /** Registers observable instruments on `@opentelemetry/api`'s global meter, if installed. */
  async #otel() {
    /** @type {any} */
    let api;
    try {
      api = await import(/* webpackIgnore: true */ '@opentelemetry/api');
    } catch {
      return;
    }
    const meter = api.metrics.getMeter('deltacrdt-server', '0.1.0');
    /**
     * @param {string} name
     * @param {string} unit
     * @param {string} description
     * @param {'gauge' | 'counter'} type
     * @param {(s: Snapshot) => Array<[Record<string, string>, number | null]>} rows
     */
    const obs = (name, unit, description, type, rows) => {
      const inst = type === 'gauge'
        ? meter.createObservableGauge(name, { unit, description })
        : meter.createObservableCounter(name, { unit, description });
      inst.addCallback((/** @type {any} */ result) => {
        for (const [attrs, v] of rows(this.snapshot())) if (v !== null) result.observe(v, attrs);
      });
    };
    const pa = (/** @type {PeerRow} */ p) => ({ 'deltacrdt.room': p.room, 'deltacrdt.peer': p.peer, 'deltacrdt.access': p.access });
    obs('deltacrdt.sync.peer.lacking', '{unit}', 'Payload units the peer lacks', 'gauge', (s) => s.peers.map((p) => [pa(p), p.lacking]));
    obs('deltacrdt.sync.peer.staleness', 'ms', 'Estimated staleness of the peer', 'gauge', (s) => s.peers.map((p) => [pa(p), p.stalenessMs]));
    obs('deltacrdt.sync.peer.io', 'By', 'Bytes exchanged with the peer', 'counter', (s) => s.peers.flatMap((p) => [
      [{ ...pa(p), 'network.io.direction': 'transmit' }, p.bytesSent], [{ ...pa(p), 'network.io.direction': 'receive' }, p.bytesReceived]]));
    obs('deltacrdt.sync.peer.messages', '{message}', 'Messages exchanged with the peer', 'counter', (s) => s.peers.flatMap((p) => [
      [{ ...pa(p), 'network.io.direction': 'transmit' }, p.messagesSent], [{ ...pa(p), 'network.io.direction': 'receive' }, p.messagesReceived]]));
    obs('deltacrdt.sync.peer.catch_ups', '{delta}', 'Catch-up deltas sent to the peer', 'counter', (s) => s.peers.map((p) => [pa(p), p.catchUps]));
    obs('deltacrdt.sync.buffer.size', 'By', 'Bytes of the room delta buffer', 'gauge', (s) => s.rooms.map((r) => [{ 'deltacrdt.room': r.room }, r.bufferBytes]));
    obs('deltacrdt.sync.room.refusals', '{frame}', 'Frames the room refused', 'counter', (s) => s.rooms.map((r) => [{ 'deltacrdt.room': r.room }, r.refusals]));
    this.otel = true;
  }

  /** Whether instruments were registered with `@opentelemetry/api`. */
  otel = false;
}
