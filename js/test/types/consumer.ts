// A consumer of the public API, compiled with `tsc --strict` by scripts/test-js: the
// declarations must be complete, precise and free of `any`.
import {
  GCounter,
  LWWRegister,
  MVRegister,
  ORSet,
  PNCounter,
  DeltaCrdtError,
  SyncSession as MainSyncSession,
  setErrorHandler,
  type DeltaCrdtErrorCode,
  type ChangeEvent,
  type Sibling,
  type Value,
} from 'deltacrdt';
import { init, initFromBytes, type WasmSource } from 'deltacrdt/slim';
import {
  SyncSession,
  ORSet as SyncORSet,
  type NeighbourSyncStats,
  type SyncStats,
  type Transmit,
} from 'deltacrdt/sync';
import { init as initSync } from 'deltacrdt/sync/slim';

const tags = new ORSet<string>(1n);
tags.add('a');
tags.addAll(['b', 'c']);
const listed: string[] = tags.values();
const present: boolean = tags.has('a') && tags.remove('b');
const size: number = tags.size;
for (const t of tags) t.toUpperCase();
// @ts-expect-error: the element type is string
tags.add(42);

const docs = new ORSet(2);
docs.add({ title: 'x', tags: ['y'], bytes: new Uint8Array([1]), n: null, ok: true });
// @ts-expect-error: undefined is not a Value
docs.add({ a: undefined });
// @ts-expect-error: functions are not Values
docs.add(() => 1);
const anyValue: Value = docs.values()[0] ?? null;

const counter = new GCounter();
counter.inc();
counter.inc(5n);
const n: number = counter.value;
const big: bigint = counter.bigValue;
const pn = new PNCounter(3);
pn.add(-2);
pn.dec(1n);

const reg = new LWWRegister<{ name: string }>(4, { maxAheadMs: 60_000, now: () => Date.now() });
reg.set({ name: 'x' });
const name: string | undefined = reg.value?.name;
const writer: bigint | undefined = reg.writer;
reg.maxAheadMs = 1000;

const mv = new MVRegister<number>(5);
mv.set(1);
const siblings: Sibling<number>[] = mv.siblings();
const first: number | undefined = siblings[0]?.value;
const conflicted: boolean = mv.isConflicted;

const off: () => void = tags.onChange((e: ChangeEvent) => {
  const local: boolean = e.local;
  const origin: unknown = e.origin;
  void local;
  void origin;
});
off();
tags.onLocalDelta((delta: Uint8Array) => docs.merge(delta, 'peer'));

const delta: Uint8Array | undefined = tags.takeDelta();
const version: Uint8Array = tags.version();
const catchUp: Uint8Array = tags.deltaSince(version);
const changed: boolean = tags.merge(catchUp, { peer: 'x' });
const copy: ORSet<string> = ORSet.fromBytes<string>(tags.toBytes(), 9);
const id: bigint = copy.replica;
copy[Symbol.dispose]();
tags.free();

const source: WasmSource = new URL('https://example.invalid/deltacrdt.wasm');
async function load(): Promise<void> {
  await init(source);
  initFromBytes(new Uint8Array(0));
}

const session = new SyncSession('ORSet', { replicaId: 1n, strategy: 'bp-rr', maxBufferBytes: 1 << 16 });
// @ts-expect-error: not a CRDT type
new SyncSession('Map');
// @ts-expect-error: not a strategy
new SyncSession('GCounter', { strategy: 'gossip' });
// @ts-expect-error: restore needs the new incarnation
SyncSession.restore('ORSet', session.persist(), {});
session.addNeighbour(2n);
const liveSet: SyncORSet = session.replica;
// One class hierarchy: the session's replica is the `deltacrdt` ORSet (no TS2741).
const sameClass: ORSet = session.replica;
const sameSession: MainSyncSession<'ORSet'> = session;
try {
  sameClass.merge(new Uint8Array(0));
} catch (e) {
  if (e instanceof DeltaCrdtError) {
    const code: DeltaCrdtErrorCode = e.code;
    const offset: number | undefined = e.offset;
    const method: string = e.method;
    void [code, offset, method];
  }
}
setErrorHandler((e: unknown) => console.warn(e));
void sameSession;
liveSet.add('a');
session.tick();
const out: Transmit | undefined = session.pollTransmit();
const all: Transmit[] = session.drainTransmits();
const to: bigint | undefined = out?.to ?? all[0]?.to;
const applied: boolean = session.handleMessage(2n, out?.bytes ?? new Uint8Array(0));
const syncStats: SyncStats = session.stats();
const lacking: number | undefined = syncStats.neighbours.map((x: NeighbourSyncStats) => x.lacking)[0];
const restarted: SyncSession<'ORSet'> = SyncSession.restore('ORSet', session.persist(), { replicaId: 1n, incarnation: 2 });
const counterSession = new SyncSession('PNCounter');
counterSession.replica.dec(2);
const counterValue: number = counterSession.replica.value;
session.free();
restarted[Symbol.dispose]();
async function loadSync(): Promise<void> {
  await initSync(new URL('https://example.invalid/deltacrdt-sync.wasm'));
}

export { to, applied, lacking, counterValue, loadSync };
export { listed, present, size, anyValue, n, big, name, writer, first, conflicted, delta, changed, id, load };

// ORMap and the new kinds.
import {
  ORMap,
  CausalCounter,
  EWFlag,
  BoundedCounter,
  type MapJSON,
  type MapEntry,
  type MapValueKind,
  type CounterHandle,
  type LWWHandle,
} from 'deltacrdt';

const cart = new ORMap(1n);
const milk: CounterHandle = cart.map('alice').counter('milk');
milk.inc(2);
const qty: number = milk.value;
const note: LWWHandle<string> = cart.map('alice').lww<string>('note');
note.set('x');
const noteValue: string | undefined = note.value;
const noteMs: number | undefined = note.timestampMs;
const noteWriter: bigint | undefined = note.writer;
const titleSiblings: Sibling<string>[] = cart.register<string>('title').siblings();
cart.map('alice').set<number>('ids').add(1);
cart.flag('express').enable();
const express: boolean = cart.flag('express').value;
const removed: boolean = cart.remove('alice', 'map');
const json: MapJSON = cart.toJSON();
const entries: MapEntry[] = cart.entries();
const kind: MapValueKind | undefined = entries[0]?.kind;
const names: string[] = cart.keys();
cart.onChange((e: ChangeEvent) => {
  const paths: readonly (readonly string[])[] | undefined = e.paths;
  void paths;
});
const cartSession = new MainSyncSession('ORMap', { replicaId: 2n });
const sessionCart: ORMap = cartSession.replica;
const cc = new CausalCounter(1n);
cc.dec(1);
const flag = new EWFlag(1n);
flag.enable();
const bounded = new BoundedCounter(1n);
bounded.inc(3);
bounded.transfer(2n, 1);
const rights: number = bounded.rights;
void [qty, noteValue, noteMs, noteWriter, titleSiblings, express, removed, json, kind, names, sessionCart, rights];
