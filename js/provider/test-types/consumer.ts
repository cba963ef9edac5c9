// A strict TypeScript consumer of deltacrdt-provider's declarations (checked by scripts/test-web).
import { Doc, WebSocketProvider, BroadcastChannelProvider, MemoryStorage, type ReplicaStore, type Status } from 'deltacrdt-provider';
import { IndexedDBStorage, openIndexedDBDoc } from 'deltacrdt-provider/indexeddb';
import { encodeFrame, decodeFrame, T } from 'deltacrdt-provider/protocol';

const cart = new Doc('ORSet');
const ws = new WebSocketProvider('ws://127.0.0.1:8787', 'cart-42', cart, { token: 't', maxBackoffMs: 5000 });
cart.replica.add('sku-1');
const n: number = cart.replica.size;
ws.on('status', (s: Status) => void s);
ws.on('synced', (b: boolean) => void b);
ws.on('error', (e) => void e.name.toUpperCase());
const tabs = new BroadcastChannelProvider('cart-42', cart);
const peers: bigint[] = tabs.peers();

async function persisted(): Promise<void> {
  const store: ReplicaStore = new MemoryStorage().room('r');
  const doc = await Doc.open('PNCounter', { store });
  doc.replica.inc(2);
  await doc.flush();
  const idb = await openIndexedDBDoc(new IndexedDBStorage('x'), 'r', 'LWWRegister');
  idb?.replica.set('v');
}
const f = decodeFrame(encodeFrame(T.SYNC, 'r', new Uint8Array([1])));
const room: string = f.room;
void [n, peers, persisted, room];
