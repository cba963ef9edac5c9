// @ts-check
/**
 * {@link PgStorage}: the server's storage in PostgreSQL (the `pg` client), for servers that
 * already run a database or that scale out (each instance a `namespace` of the same tables).
 *
 * Two tables (created if missing):
 *
 * - `deltacrdt_rooms (namespace, room, kind, replica_id, incarnation, snapshot, log_bytes)`:
 *   one row per room replica; `snapshot` is the state at the last compaction;
 * - `deltacrdt_log (namespace, room, seq, delta)`: the deltas appended since, in `seq` order.
 *
 * With the scale-out (`RedisCluster`), the room row also holds `stream_pos`: the position in
 * the replica's Redis inbox up to which what it read is durable here (saved after the deltas).
 *
 * Every write is one transaction that resolves once PostgreSQL has committed it (with the
 * server's default `synchronous_commit = on`, the commit record is flushed to its WAL): an
 * `append` that resolved survives a SIGKILL of the sync server and a crash of the database
 * alike, which is the guarantee of the file store. Compaction replaces the snapshot and
 * deletes the log rows it covers in one transaction, so there is no window in which a crash
 * leaves both or neither (the file store's crash window only replays deltas; here there is none).
 * @module
 */
import pg from 'pg';

/**
 * @typedef {object} PgStorageOptions
 * @property {string} [namespace]  rows of this storage (one per server instance); default `'default'`
 * @property {number} [max]  pool size; default 8
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deltacrdt_rooms (
  namespace text NOT NULL,
  room text NOT NULL,
  kind text NOT NULL,
  replica_id numeric(20, 0) NOT NULL,
  incarnation numeric(20, 0) NOT NULL,
  snapshot bytea,
  log_bytes bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, room)
);
CREATE TABLE IF NOT EXISTS deltacrdt_log (
  namespace text NOT NULL,
  room text NOT NULL,
  seq bigserial,
  delta bytea NOT NULL,
  PRIMARY KEY (namespace, room, seq)
);
ALTER TABLE deltacrdt_rooms ADD COLUMN IF NOT EXISTS stream_pos text;`;

/** Storage in PostgreSQL, one row (plus log rows) per room. */
export class PgStorage {
  /** @type {pg.Pool} */
  pool;
  namespace;
  /** @type {Promise<void> | undefined} */
  #ready;

  /**
   * @param {string | pg.Pool} connection  a connection string (`postgres://user@host:port/db`) or a pool
   * @param {PgStorageOptions} [options]
   */
  constructor(connection, options = {}) {
    this.pool = typeof connection === 'string'
      ? new pg.Pool({ connectionString: connection, max: options.max ?? 8 })
      : connection;
    this.#ownPool = typeof connection === 'string';
    // A dropped idle connection must not crash the process: the next query reconnects.
    this.pool.on('error', () => {});
    this.namespace = options.namespace ?? 'default';
  }

  #ownPool;

  /** Creates the tables if missing (called by the first operation; idempotent). */
  ready() {
    if (!this.#ready) {
      this.#ready = (async () => {
        const c = await this.pool.connect();
        try {
          // Serialise concurrent CREATE TABLE IF NOT EXISTS of several instances.
          await c.query('BEGIN');
          await c.query('SELECT pg_advisory_xact_lock(7361029)');
          await c.query(SCHEMA);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK').catch(() => {});
          throw e;
        } finally {
          c.release();
        }
      })();
      this.#ready.catch(() => {
        this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  /**
   * The store of one room.
   * @param {string} room
   * @returns {PgReplicaStore}
   */
  room(room) {
    return new PgReplicaStore(this, room);
  }

  /**
   * The rooms of this namespace.
   * @returns {Promise<string[]>}
   */
  async list() {
    await this.ready();
    const r = await this.pool.query('SELECT room FROM deltacrdt_rooms WHERE namespace = $1 ORDER BY room', [this.namespace]);
    return r.rows.map((x) => String(x.room));
  }

  /** Closes the pool (if this storage created it). */
  async close() {
    if (this.#ownPool) await this.pool.end();
  }
}

/**
 * Runs `fn` in a transaction on a client of the pool.
 * @template T
 * @param {pg.Pool} pool
 * @param {(c: pg.PoolClient) => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function transaction(pool, fn) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const v = await fn(c);
    await c.query('COMMIT');
    return v;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/** One room's rows (a `ReplicaStore` of `deltacrdt-provider`). */
export class PgReplicaStore {
  #s;
  #room;
  #logBytes = 0;

  /**
   * @param {PgStorage} storage
   * @param {string} room
   */
  constructor(storage, room) {
    this.#s = storage;
    this.#room = room;
  }

  /** @returns {Promise<import('deltacrdt-provider').ReplicaRecord | undefined>} */
  async load() {
    await this.#s.ready();
    const ns = this.#s.namespace;
    // One snapshot-isolated read of the row and its log.
    return transaction(this.#s.pool, async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const r = await c.query(
        'SELECT kind, replica_id::text AS replica_id, incarnation::text AS incarnation, snapshot FROM deltacrdt_rooms WHERE namespace = $1 AND room = $2',
        [ns, this.#room],
      );
      const row = r.rows[0];
      if (!row) return undefined;
      const log = await c.query('SELECT delta FROM deltacrdt_log WHERE namespace = $1 AND room = $2 ORDER BY seq', [ns, this.#room]);
      /** @type {Uint8Array[]} */
      const deltas = log.rows.map((x) => new Uint8Array(/** @type {Buffer} */ (x.delta)));
      this.#logBytes = deltas.reduce((n, d) => n + d.length, 0);
      return {
        kind: String(row.kind),
        replicaId: BigInt(row.replica_id),
        incarnation: BigInt(row.incarnation),
        snapshot: row.snapshot ? new Uint8Array(/** @type {Buffer} */ (row.snapshot)) : undefined,
        deltas,
      };
    });
  }

  /** @param {import('deltacrdt-provider').ReplicaMeta} meta */
  async saveMeta(meta) {
    await this.#s.ready();
    await this.#s.pool.query(
      `INSERT INTO deltacrdt_rooms (namespace, room, kind, replica_id, incarnation) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (namespace, room) DO UPDATE SET kind = EXCLUDED.kind, replica_id = EXCLUDED.replica_id, incarnation = EXCLUDED.incarnation`,
      [this.#s.namespace, this.#room, meta.kind, meta.replicaId.toString(), meta.incarnation.toString()],
    );
  }

  /**
   * Appends one delta (one committed statement). The doc never has two appends of one room
   * in flight, so `seq` keeps them in order.
   * @param {Uint8Array} delta
   */
  async append(delta) {
    await this.#s.pool.query(
      'INSERT INTO deltacrdt_log (namespace, room, delta) VALUES ($1, $2, $3)',
      [this.#s.namespace, this.#room, Buffer.from(delta.buffer, delta.byteOffset, delta.length)],
    );
    this.#logBytes += delta.length;
  }

  /**
   * Replaces the snapshot by `state` and deletes the log rows it includes, in one transaction.
   * @param {Uint8Array} state
   */
  async compact(state) {
    const ns = this.#s.namespace;
    await transaction(this.#s.pool, async (c) => {
      const u = await c.query(
        'UPDATE deltacrdt_rooms SET snapshot = $3, log_bytes = 0 WHERE namespace = $1 AND room = $2',
        [ns, this.#room, Buffer.from(state.buffer, state.byteOffset, state.length)],
      );
      if (u.rowCount !== 1) throw new Error(`PgStorage.compact: room ${this.#room} has no meta row`);
      await c.query('DELETE FROM deltacrdt_log WHERE namespace = $1 AND room = $2', [ns, this.#room]);
    });
    this.#logBytes = 0;
  }

  logBytes() {
    return this.#logBytes;
  }

  /**
   * The stored inbox position of the scale-out (see `RedisCluster`), if any.
   * @returns {Promise<string | undefined>}
   */
  async loadPosition() {
    await this.#s.ready();
    const r = await this.#s.pool.query('SELECT stream_pos FROM deltacrdt_rooms WHERE namespace = $1 AND room = $2', [this.#s.namespace, this.#room]);
    const v = r.rows[0]?.stream_pos;
    return typeof v === 'string' ? v : undefined;
  }

  /**
   * Stores the inbox position (call it only once what was read up to it is persisted).
   * @param {string} id
   */
  async savePosition(id) {
    await this.#s.pool.query('UPDATE deltacrdt_rooms SET stream_pos = $3 WHERE namespace = $1 AND room = $2', [this.#s.namespace, this.#room, id]);
  }

  /** Nothing to close per room (the pool is shared). */
  close() {}
}
