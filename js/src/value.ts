/**
 * The canonical encoding of JS values: how set elements and register values become bytes.
 *
 * The format is specified (and validated) in `bindings/wasm/src/value.rs`; this module is its
 * only encoder and decoder. Equal values always encode to equal bytes, so `{a: 1, b: 2}` and
 * `{b: 2, a: 1}` are the same set element, and `-0` is the same as `0`.
 *
 * Supported: `null`, booleans, finite numbers, strings, `Uint8Array`, and arrays and plain
 * objects of those, nested at most {@link MAX_DEPTH} levels. Everything else throws a
 * `TypeError` (or `RangeError`) naming where in the value the problem is: `undefined`, `NaN`,
 * `±Infinity`, bigints, symbols, functions, class instances, `Map`/`Set`/`Date`, typed arrays
 * other than `Uint8Array`, strings with lone surrogates, holes in arrays, and cycles.
 * @module
 */

/** A value that can be a set element or a register value. */
export type Value =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly Value[]
  | { readonly [key: string]: Value };

/** The deepest nesting of arrays and objects accepted (the top-level value counts as 1). */
export const MAX_DEPTH = 64;

const NULL = 0;
const FALSE = 1;
const TRUE = 2;
const INT = 3;
const FLOAT = 4;
const STRING = 5;
const BYTES = 6;
const ARRAY = 7;
const OBJECT = 8;

const TWO_POW_28 = 0x10000000;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const f64Scratch = new DataView(new ArrayBuffer(8));

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name ? `a ${name}` : 'an object';
  }
  if (typeof v === 'string') return 'a string';
  return typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`;
}

function isWellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof f === 'function') return f.call(s);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** Compares two strings in code point order (= UTF-8 byte order), not UTF-16 unit order. */
function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (D800-DFFF) encode code points above FFFF: move them past E000-FFFF.
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Encodes values into one growing buffer; reused across calls to avoid allocation. */
class Writer {
  buf = new Uint8Array(256);
  pos = 0;
  private readonly path: (string | number)[] = [];
  private readonly ancestors: object[] = [];

  reset(): void {
    this.pos = 0;
    // Empty after every encode that returned (pushes and pops pair up); only a failed one
    // leaves entries. Setting an array's length is a slow runtime call in V8: skip it.
    if (this.path.length !== 0) this.path.length = 0;
    if (this.ancestors.length !== 0) this.ancestors.length = 0;
  }

  fail(problem: string, kind: 'type' | 'range' = 'type'): never {
    let where = 'value';
    for (const p of this.path) where += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
    const msg = `${where}: ${problem}`;
    throw kind === 'range' ? new RangeError(msg) : new TypeError(msg);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53 as LEB128. */
  private varint(n: number): void {
    this.reserve(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** A safe integer as a zigzag LEB128 (the zigzag form can exceed 2^53, so use BigInt then). */
  private zigzag(n: number): void {
    if (n > -TWO_POW_28 && n < TWO_POW_28) {
      this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    let z = n >= 0 ? BigInt(n) * 2n : BigInt(-n) * 2n - 1n;
    this.reserve(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  private string(s: string): void {
    const len = s.length;
    if (len < 64) {
      // Fast path for short ASCII strings: no encoder call.
      this.reserve(1 + len);
      const start = this.pos;
      this.buf[start] = len;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[start + 1 + i] = c;
      }
      if (i === len) {
        this.pos = start + 1 + len;
        return;
      }
    }
    if (!isWellFormed(s)) this.fail('string has a lone surrogate (it has no UTF-8 form)');
    const max = len * 3;
    const prefix = varintSize(max);
    this.reserve(prefix + max);
    const start = this.pos;
    const { written } = utf8Encoder.encodeInto(s, this.buf.subarray(start + prefix));
    const actual = varintSize(written);
    if (actual !== prefix) this.buf.copyWithin(start + actual, start + prefix, start + prefix + written);
    this.varint(written);
    this.pos = start + actual + written;
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        this.byte(STRING);
        this.string(v);
        return;
      case 'number':
        if (Number.isSafeInteger(v)) {
          this.byte(INT);
          this.zigzag(v === 0 ? 0 : v);
        } else if (Number.isFinite(v)) {
          this.byte(FLOAT);
          this.reserve(8);
          f64Scratch.setFloat64(0, v, true);
          for (let i = 0; i < 8; i++) this.buf[this.pos++] = f64Scratch.getUint8(i);
        } else {
          this.fail(`${v} is not supported (only finite numbers are)`, 'range');
        }
        return;
      case 'boolean':
        this.byte(v ? TRUE : FALSE);
        return;
      case 'object':
        break;
      case 'undefined':
        return this.fail('undefined is not supported (use null, or leave the key out)');
      default:
        return this.fail(`${describe(v)} is not supported`);
    }
    if (v === null) {
      this.byte(NULL);
      return;
    }
    if (v instanceof Uint8Array) {
      this.byte(BYTES);
      this.varint(v.length);
      this.reserve(v.length);
      this.buf.set(v, this.pos);
      this.pos += v.length;
      return;
    }
    const isArray = Array.isArray(v);
    if (!isArray) {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        this.fail(`${describe(v)} is not supported (only plain objects, arrays and Uint8Array are)`);
      }
    }
    if (this.ancestors.includes(v)) this.fail('the value contains a cycle');
    if (depth >= MAX_DEPTH) this.fail(`arrays and objects nest deeper than ${MAX_DEPTH} levels`, 'range');
    this.ancestors.push(v);
    if (isArray) {
      const a = v as readonly unknown[];
      this.byte(ARRAY);
      this.varint(a.length);
      for (let i = 0; i < a.length; i++) {
        this.path.push(i);
        if (!(i in a)) this.fail('arrays with holes are not supported');
        this.value(a[i], depth + 1);
        this.path.pop();
      }
    } else {
      const o = v as { readonly [key: string]: unknown };
      const keys = Object.keys(o).sort(compareKeys);
      this.byte(OBJECT);
      this.varint(keys.length);
      for (const k of keys) {
        this.path.push(k);
        this.string(k);
        this.value(o[k], depth + 1);
        this.path.pop();
      }
    }
    this.ancestors.pop();
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

const writer = new Writer();

/**
 * Encodes one value canonically. The result is a view of a shared scratch buffer, valid until
 * the next call: pass it to wasm (which copies) or copy it.
 * @throws TypeError or RangeError naming the unsupported part of the value.
 */
export function encodeScratch(v: unknown): Uint8Array {
  writer.reset();
  writer.value(v, 0);
  return writer.buf.subarray(0, writer.pos);
}

/** Encodes one value canonically into a new `Uint8Array`. */
export function encodeValue(v: Value): Uint8Array {
  return encodeScratch(v).slice();
}

/**
 * Encodes many values as one concatenation (values are self-delimiting), the batch form that
 * crosses into wasm in one copy. A view of the shared scratch buffer, as for {@link encodeScratch}.
 */
export function encodeManyScratch(values: Iterable<unknown>): Uint8Array {
  writer.reset();
  let i = 0;
  try {
    for (const v of values) {
      writer.value(v, 0);
      i++;
    }
  } catch (e) {
    if (e instanceof Error) e.message = `item ${i}: ${e.message}`;
    throw e;
  }
  return writer.buf.subarray(0, writer.pos);
}

/** Reads canonical values; the bytes come from wasm, which has validated them. */
class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  private fail(): never {
    throw new Error(`deltacrdt: malformed value bytes at ${this.pos} (this is a bug)`);
  }

  private varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) this.fail();
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  private zigzag(): number {
    const start = this.pos;
    const z = this.varint();
    // Up to 7 bytes (49 bits) the number arithmetic above is exact; beyond, redo it in BigInt.
    if (this.pos - start <= 7) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    let big = 0n;
    for (let j = this.pos - 1; j >= start; j--) big = (big << 7n) | BigInt(this.buf[j]! & 0x7f);
    return Number(big & 1n ? -((big + 1n) >> 1n) : big >> 1n);
  }

  private string(): string {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.buf.length) this.fail();
    if (n < 32) {
      let ascii = true;
      for (let i = this.pos; i < end; i++) if (this.buf[i]! >= 0x80) ascii = false;
      if (ascii) {
        const s = String.fromCharCode(...this.buf.subarray(this.pos, end));
        this.pos = end;
        return s;
      }
    }
    const s = utf8Decoder.decode(this.buf.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  value(): Value {
    const tag = this.buf[this.pos++];
    switch (tag) {
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT:
        return this.zigzag();
      case FLOAT: {
        if (this.pos + 8 > this.buf.length) this.fail();
        for (let i = 0; i < 8; i++) f64Scratch.setUint8(i, this.buf[this.pos + i]!);
        this.pos += 8;
        return f64Scratch.getFloat64(0, true);
      }
      case STRING:
        return this.string();
      case BYTES: {
        const n = this.varint();
        if (this.pos + n > this.buf.length) this.fail();
        const b = this.buf.slice(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case ARRAY: {
        const n = this.varint();
        const out: Value[] = [];
        for (let i = 0; i < n; i++) out.push(this.value());
        return out;
      }
      case OBJECT: {
        const n = this.varint();
        const out: { [key: string]: Value } = {};
        for (let i = 0; i < n; i++) {
          const k = this.string();
          const v = this.value();
          if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
          else out[k] = v;
        }
        return out;
      }
      default:
        return this.fail();
    }
  }
}

/** Decodes one canonical value. */
export function decodeValue(bytes: Uint8Array): Value {
  const r = new Reader(bytes);
  const v = r.value();
  if (r.pos !== bytes.length) throw new Error('deltacrdt: trailing bytes after a value (this is a bug)');
  return v;
}

/** Decodes a concatenation of canonical values. */
export function decodeValues(bytes: Uint8Array): Value[] {
  const r = new Reader(bytes);
  const out: Value[] = [];
  while (r.pos < bytes.length) out.push(r.value());
  return out;
}
