// A shopping cart as one ORMap document, shared by two devices through one SyncSession each.
// The channel between them drops a third of the messages; the sessions recover.
// Run: npm run example:cart   (in js/, after scripts/build-wasm)
import { SyncSession } from 'deltacrdt';

const phone = new SyncSession('ORMap', { replicaId: 1n });
const laptop = new SyncSession('ORMap', { replicaId: 2n });
phone.addNeighbour(2n);
laptop.addNeighbour(1n);

// Every change says which paths changed, and which neighbour it came from.
laptop.replica.onChange((e) => {
  if (!e.local) console.log(`laptop: from ${e.origin}:`, e.paths?.map((p) => p.join('/')).join(', '));
});

let seed = 42;
const lossy = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) < 0.33;
function exchange(rounds) {
  for (let r = 0; r < rounds; r++) {
    for (const [from, to, id] of [[phone, laptop, 1n], [laptop, phone, 2n]]) {
      from.tick();
      for (const t of from.drainTransmits()) if (!lossy()) to.handleMessage(id, t.bytes);
    }
  }
}

const cart = phone.replica;
cart.map('alice').counter('milk').inc(2);
cart.map('alice').lww('note').set('semi-skimmed');
cart.map('bob').counter('eggs').inc(12);
cart.flag('express').enable();
exchange(10);
console.log('laptop sees:', JSON.stringify(laptop.replica.toJSON()));

// Concurrently: the phone removes Alice's line while the laptop adds one more milk.
cart.remove('alice');
laptop.replica.map('alice').counter('milk').inc(1);
exchange(10);
console.log('after remove + concurrent +1:', JSON.stringify(cart.toJSON()));
console.log('same on both:', JSON.stringify(cart.toJSON()) === JSON.stringify(laptop.replica.toJSON()));
