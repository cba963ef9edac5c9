// @ts-check
/**
 * {@link FileStorage}: the server's embedded storage, one directory per room:
 *
 * - `meta.json`: kind, replica id and incarnation of the room's latest run (written to a
 *   temporary file, fsynced, renamed, directory fsynced);
 * - `snapshot.bin`: `DCS1`, crc32:u32le, state bytes; replaced atomically the same way;
 * - `LOCK` (in the directory itself): the pid of the process using it;
 * - `log.bin`: append-only records `length:u32le crc32:u32le delta`, each fsynced before
 *   `append` returns.
 *
 * Compaction writes a new snapshot (atomically) and then empties the log; a crash between the
 * two only replays deltas the snapshot already holds (merging is idempotent). Recovery reads
 * the log up to the first incomplete or damaged record (a torn tail left by a crash in the
 * middle of an append, which was therefore never acknowledged) and truncates it there.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';

const MAGIC = Buffer.from('DCS1');
/** The largest record the log accepts (a sanity bound for recovery). */
const MAX_RECORD = 256 << 20;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE).
 * @param {Uint8Array} b
 * @returns {number}
 */
export function crc32(b) {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = (CRC_TABLE[(c ^ (b[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Writes `data` to `file` atomically and durably: temp file, fsync, rename, fsync the directory.
 * @param {string} file
 * @param {Uint8Array} data
 */
function writeAtomic(file, data) {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** @param {string} dir */
function fsyncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The directory name of a room (base64url of its UTF-8 name).
 * @param {string} room
 */
export function roomDirName(room) {
  return Buffer.from(room, 'utf8').toString('base64url');
}

/** Storage in a directory, one subdirectory per room. */
export class FileStorage {
  #dir;

  /**
   * @param {string} dir  created if missing
   * @param {{ lock?: boolean }} [options]  `lock` (default true): refuse a directory that a
   *   live process (another server) holds, so two servers never write the same files
   */
  constructor(dir, options = {}) {
    this.#dir = path.resolve(dir);
    fs.mkdirSync(path.join(this.#dir, 'rooms'), { recursive: true });
    if (options.lock !== false) this.#lock();
  }

  #lock() {
    const file = path.join(this.#dir, 'LOCK');
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(file, 'utf8').trim());
    } catch {
      // No lock yet.
    }
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid) {
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = true;
      } catch (e) {
        alive = /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM';
      }
      if (alive) throw new Error(`${this.#dir} is in use by process ${holder} (its LOCK file); one server per data directory`);
    }
    // A holder that died (SIGKILL included) leaves a stale LOCK: take it over.
    fs.writeFileSync(file, `${process.pid}\n`);
  }

  /** The directory. */
  get dir() {
    return this.#dir;
  }

  /**
   * The store of one room.
   * @param {string} room
   * @returns {FileReplicaStore}
   */
  room(room) {
    return new FileReplicaStore(path.join(this.#dir, 'rooms', roomDirName(room)));
  }

  /**
   * The rooms on disk.
   * @returns {string[]}
   */
  list() {
    return fs.readdirSync(path.join(this.#dir, 'rooms'))
      .filter((d) => fs.existsSync(path.join(this.#dir, 'rooms', d, 'meta.json')))
      .map((d) => Buffer.from(d, 'base64url').toString('utf8'));
  }
}

/**
 * One room's files (a `ReplicaStore` of `deltacrdt-provider`).
 */
export class FileReplicaStore {
  #dir;
  /** @type {number | undefined} */
  #fd;
  #logBytes = 0;
  /** Records dropped from a torn tail at the last load. */
  tornBytes = 0;

  /** @param {string} dir */
  constructor(dir) {
    this.#dir = dir;
  }

  /** @returns {Promise<import('deltacrdt-provider').ReplicaRecord | undefined>} */
  async load() {
    const metaFile = path.join(this.#dir, 'meta.json');
    if (!fs.existsSync(metaFile)) return undefined;
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    /** @type {Uint8Array | undefined} */
    let snapshot;
    const snapFile = path.join(this.#dir, 'snapshot.bin');
    if (fs.existsSync(snapFile)) {
      const b = fs.readFileSync(snapFile);
      if (b.length < 8 || !b.subarray(0, 4).equals(MAGIC)) throw new Error(`${snapFile}: not a snapshot`);
      const body = b.subarray(8);
      if (b.readUInt32LE(4) !== crc32(body)) throw new Error(`${snapFile}: checksum mismatch`);
      snapshot = new Uint8Array(body);
    }
    /** @type {Uint8Array[]} */
    const deltas = [];
    const logFile = path.join(this.#dir, 'log.bin');
    if (fs.existsSync(logFile)) {
      const b = fs.readFileSync(logFile);
      let off = 0;
      while (off + 8 <= b.length) {
        const len = b.readUInt32LE(off);
        const sum = b.readUInt32LE(off + 4);
        if (len > MAX_RECORD || off + 8 + len > b.length) break;
        const body = b.subarray(off + 8, off + 8 + len);
        if (crc32(body) !== sum) break;
        deltas.push(new Uint8Array(body));
        off += 8 + len;
      }
      if (off < b.length) {
        // A torn tail: never fsynced completely, so never acknowledged. Cut it.
        this.tornBytes = b.length - off;
        fs.truncateSync(logFile, off);
      }
      this.#logBytes = off;
    }
    return {
      kind: meta.kind,
      replicaId: BigInt(meta.replicaId),
      incarnation: BigInt(meta.incarnation),
      snapshot,
      deltas,
    };
  }

  /** @param {import('deltacrdt-provider').ReplicaMeta} meta */
  async saveMeta(meta) {
    fs.mkdirSync(this.#dir, { recursive: true });
    const json = JSON.stringify({
      kind: meta.kind,
      replicaId: meta.replicaId.toString(),
      incarnation: meta.incarnation.toString(),
    });
    writeAtomic(path.join(this.#dir, 'meta.json'), Buffer.from(json));
  }

  #log() {
    if (this.#fd === undefined) {
      fs.mkdirSync(this.#dir, { recursive: true });
      const file = path.join(this.#dir, 'log.bin');
      const created = !fs.existsSync(file);
      this.#fd = fs.openSync(file, 'a');
      if (created) fsyncDir(this.#dir);
    }
    return this.#fd;
  }

  /**
   * Appends one record and fdatasyncs it. Asynchronous (libuv's thread pool), so the fsyncs of
   * many rooms overlap and the event loop keeps running; the doc never has two appends of
   * one room in flight, so the records of a room stay in order.
   * @param {Uint8Array} delta
   */
  async append(delta) {
    const rec = Buffer.allocUnsafe(8 + delta.length);
    rec.writeUInt32LE(delta.length, 0);
    rec.writeUInt32LE(crc32(delta), 4);
    rec.set(delta, 8);
    const fd = this.#log();
    await new Promise((resolve, reject) => {
      fs.write(fd, rec, 0, rec.length, null, (err, n) => {
        if (err) return reject(err);
        if (n !== rec.length) return reject(new Error(`short write to the log (${n} of ${rec.length} bytes)`));
        fs.fdatasync(fd, (e) => (e ? reject(e) : resolve(undefined)));
      });
    });
    this.#logBytes += rec.length;
  }

  /** @param {Uint8Array} state */
  async compact(state) {
    const out = Buffer.allocUnsafe(8 + state.length);
    MAGIC.copy(out, 0);
    out.writeUInt32LE(crc32(state), 4);
    out.set(state, 8);
    writeAtomic(path.join(this.#dir, 'snapshot.bin'), out);
    const fd = this.#log();
    fs.ftruncateSync(fd, 0);
    fs.fsyncSync(fd);
    this.#logBytes = 0;
  }

  logBytes() {
    return this.#logBytes;
  }

  /** Closes the log file. */
  close() {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}
