// @ts-check
/**
 * The wire format between a provider and a deltacrdt sync server: one binary WebSocket message
 * is one frame, and many rooms share one connection.
 *
 * ```text
 * frame   = type:u8  roomLen:u8  room:utf8[roomLen]  payload...
 * ```
 *
 * `room` is 1 to 128 bytes of UTF-8 (no control characters); `roomLen` 0 means "the
 * connection" (only in ERROR frames). The payload of each type:
 *
 * | type | name   | direction | payload |
 * |------|--------|-----------|---------|
 * | 1    | JOIN   | C -> S    | replicaId:u64be  kindLen:u8  kind:ascii |
 * | 2    | LEAVE  | C -> S    | (none) |
 * | 3    | SYNC   | both      | the bytes of a `SyncSession` message (writers) |
 * | 4    | PULL   | C -> S    | the client's `version()` (readers: "send me what I lack") |
 * | 16   | JOINED | S -> C    | access:u8 (1 read, 2 read-write)  serverReplicaId:u64be  kindLen:u8  kind:ascii |
 * | 17   | DELTA  | S -> C    | a delta to merge (readers) |
 * | 18   | STATUS | S -> C    | lacking:u32be (payload units this client lacks of the server's state; 0xffffffff unknown) |
 * | 19   | ERROR  | S -> C    | code:u8  message:utf8 |
 *
 * A writer adds the server as a neighbour of its session and exchanges SYNC frames; a reader
 * never sends SYNC: it sends PULL with its version and merges the DELTA frames the server
 * pushes (then PULLs again, which acknowledges them). Frames the server refuses are answered
 * by an ERROR frame and change nothing.
 * @module
 */

/** Frame types. */
export const T = Object.freeze({
  JOIN: 1,
  LEAVE: 2,
  SYNC: 3,
  PULL: 4,
  JOINED: 16,
  DELTA: 17,
  STATUS: 18,
  ERROR: 19,
});

/** Error codes of ERROR frames. */
export const E = Object.freeze({
  BAD_FRAME: 1,
  TOO_LARGE: 2,
  RATE_LIMITED: 3,
  TOO_MANY_ROOMS: 4,
  FORBIDDEN: 5,
  NOT_JOINED: 6,
  KIND_MISMATCH: 7,
  REFUSED: 8,
  REPLICA_IN_USE: 9,
  SERVER_FULL: 10,
  INTERNAL: 11,
  READ_ONLY: 12,
  REPLACED: 13,
});

/** The name of each error code. */
export const ERROR_NAMES = Object.freeze(Object.fromEntries(Object.entries(E).map(([k, v]) => [v, k])));

/** The longest room name, in UTF-8 bytes. */
export const MAX_ROOM_BYTES = 128;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** A decoded frame. */
/**
 * @typedef {object} Frame
 * @property {number} type
 * @property {string} room  '' for the connection
 * @property {Uint8Array} payload  a view into the message
 */

/**
 * Checks a room name; returns its UTF-8 bytes.
 * @param {string} room
 * @returns {Uint8Array}
 */
export function roomBytes(room) {
  if (typeof room !== 'string') throw new TypeError('room must be a string');
  const b = enc.encode(room);
  if (b.length === 0 || b.length > MAX_ROOM_BYTES) {
    throw new RangeError(`room must be 1 to ${MAX_ROOM_BYTES} bytes of UTF-8, got ${b.length}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(room) || room.includes('\uFFFD')) {
    throw new RangeError('room must not contain control characters');
  }
  return b;
}

/**
 * Encodes a frame.
 * @param {number} type
 * @param {string} room  '' only for connection-level ERROR frames
 * @param {Uint8Array} [payload]
 * @returns {Uint8Array}
 */
export function encodeFrame(type, room, payload = new Uint8Array(0)) {
  const r = room === '' ? new Uint8Array(0) : roomBytes(room);
  const out = new Uint8Array(2 + r.length + payload.length);
  out[0] = type;
  out[1] = r.length;
  out.set(r, 2);
  out.set(payload, 2 + r.length);
  return out;
}

/**
 * Decodes a frame; throws a `FrameError` naming the problem.
 * @param {Uint8Array} bytes
 * @returns {Frame}
 */
export function decodeFrame(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new FrameError('a frame is binary');
  if (bytes.length < 2) throw new FrameError(`a frame is at least 2 bytes, got ${bytes.length}`);
  const type = bytes[0] ?? 0;
  const len = bytes[1] ?? 0;
  if (!(/** @type {number[]} */ (Object.values(T))).includes(type)) throw new FrameError(`unknown frame type ${type}`);
  if (bytes.length < 2 + len) throw new FrameError(`room name of ${len} bytes runs past the end of the frame`);
  if (len > MAX_ROOM_BYTES) throw new FrameError(`room name of ${len} bytes is longer than ${MAX_ROOM_BYTES}`);
  let room = '';
  if (len > 0) {
    try {
      room = dec.decode(bytes.subarray(2, 2 + len));
      roomBytes(room);
    } catch (e) {
      throw new FrameError(`bad room name: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else if (type !== T.ERROR) {
    throw new FrameError('missing room name');
  }
  return { type, room, payload: bytes.subarray(2 + len) };
}

/** A frame that cannot be decoded. */
export class FrameError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * @param {bigint} id
 * @param {string} kind
 * @returns {Uint8Array}
 */
export function encodeJoin(id, kind) {
  const k = enc.encode(kind);
  if (k.length > 64) throw new RangeError('kind name too long');
  const out = new Uint8Array(9 + k.length);
  new DataView(out.buffer).setBigUint64(0, id);
  out[8] = k.length;
  out.set(k, 9);
  return out;
}

/**
 * @param {Uint8Array} p
 * @returns {{ replicaId: bigint, kind: string }}
 */
export function decodeJoin(p) {
  if (p.length < 9) throw new FrameError('JOIN payload too short');
  const replicaId = new DataView(p.buffer, p.byteOffset, p.byteLength).getBigUint64(0);
  const n = p[8] ?? 0;
  if (p.length !== 9 + n) throw new FrameError('JOIN payload: bad kind length');
  const kind = ascii(p.subarray(9));
  return { replicaId, kind };
}

/**
 * @param {number} access  1 read, 2 read-write
 * @param {bigint} serverId
 * @param {string} kind
 * @returns {Uint8Array}
 */
export function encodeJoined(access, serverId, kind) {
  const k = enc.encode(kind);
  const out = new Uint8Array(10 + k.length);
  out[0] = access;
  new DataView(out.buffer).setBigUint64(1, serverId);
  out[9] = k.length;
  out.set(k, 10);
  return out;
}

/**
 * @param {Uint8Array} p
 * @returns {{ access: number, serverId: bigint, kind: string }}
 */
export function decodeJoined(p) {
  if (p.length < 10) throw new FrameError('JOINED payload too short');
  const access = p[0] ?? 0;
  const serverId = new DataView(p.buffer, p.byteOffset, p.byteLength).getBigUint64(1);
  const n = p[9] ?? 0;
  if (p.length !== 10 + n) throw new FrameError('JOINED payload: bad kind length');
  return { access, serverId, kind: ascii(p.subarray(10)) };
}

/**
 * @param {number} code
 * @param {string} message
 * @returns {Uint8Array}
 */
export function encodeError(code, message) {
  const m = enc.encode(message.slice(0, 500));
  const out = new Uint8Array(1 + m.length);
  out[0] = code;
  out.set(m, 1);
  return out;
}

/**
 * @param {Uint8Array} p
 * @returns {{ code: number, name: string, message: string }}
 */
export function decodeError(p) {
  const code = p[0] ?? 0;
  let message = '';
  try {
    message = dec.decode(p.subarray(1));
  } catch {
    message = '(undecodable message)';
  }
  return { code, name: ERROR_NAMES[code] ?? `E${code}`, message };
}

/**
 * @param {number | undefined} lacking
 * @returns {Uint8Array}
 */
export function encodeStatus(lacking) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, lacking === undefined ? 0xffffffff : Math.min(lacking, 0xfffffffe));
  return out;
}

/**
 * @param {Uint8Array} p
 * @returns {number | undefined}
 */
export function decodeStatus(p) {
  if (p.length !== 4) throw new FrameError('STATUS payload is 4 bytes');
  const v = new DataView(p.buffer, p.byteOffset, 4).getUint32(0);
  return v === 0xffffffff ? undefined : v;
}

/**
 * @param {Uint8Array} b
 * @returns {string}
 */
function ascii(b) {
  for (const c of b) if (c < 0x21 || c > 0x7e) throw new FrameError('kind name must be printable ASCII');
  return String.fromCharCode(...b);
}
