// Replicas syncing through a lossy, duplicating, reordering channel, then catching up with
// version()/deltaSince().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GCounter, PNCounter, ORSet, LWWRegister, MVRegister } from 'deltacrdt';
import { rng, hex } from './util.mjs';

/** A channel that drops 30%, duplicates 20% and delivers in random order. */
function lossyChannel(next) {
  const queue = [];
  return {
    send(to, bytes) {
      if (next() < 0.3) return;
      queue.push([to, bytes]);
      if (next() < 0.2) queue.push([to, bytes]);
    },
    deliverSome(max) {
      for (let n = 0; n < max && queue.length > 0; n++) {
        const [to, bytes] = queue.splice(Math.floor(next() * queue.length), 1)[0];
        to.merge(bytes, 'channel');
      }
    },
    drain() {
      this.deliverSome(Infinity);
    },
  };
}

const mutate = {
  GCounter: (r, next) => r.inc(1 + Math.floor(next() * 5)),
  PNCounter: (r, next) => (next() < 0.5 ? r.inc(Math.floor(next() * 5)) : r.dec(Math.floor(next() * 5))),
  ORSet: (r, next) => {
    const e = `e${Math.floor(next() * 30)}`;
    if (next() < 0.6) r.add(e);
    else if (next() < 0.9) r.remove(e);
    else r.addAll([{ k: Math.floor(next() * 5) }, [e]]);
  },
  LWWRegister: (r, next) => r.set({ v: Math.floor(next() * 1000) }),
  MVRegister: (r, next) => r.set(Math.floor(next() * 1000)),
};

for (const T of [GCounter, PNCounter, ORSet, LWWRegister, MVRegister]) {
  for (const seed of [1, 2, 3]) {
    test(`${T.name} converges over a lossy channel, then by catch-up (seed ${seed})`, () => {
      const next = rng(seed * 7919 + T.name.length);
      const replicas = [1, 2, 3, 4].map((id) => new T(id));
      const channel = lossyChannel(next);
      for (let step = 0; step < 300; step++) {
        const r = replicas[Math.floor(next() * replicas.length)];
        mutate[T.name](r, next);
        // Ship the pending delta group now and then, to everyone else.
        if (next() < 0.3) {
          const delta = r.takeDelta();
          if (delta) for (const other of replicas) if (other !== r) channel.send(other, delta);
        }
        channel.deliverSome(2);
      }
      for (const r of replicas) {
        const delta = r.takeDelta();
        if (delta) for (const other of replicas) if (other !== r) channel.send(other, delta);
      }
      channel.drain();
      // Catch-up, pairwise: each asks each other for what it lacks.
      for (const a of replicas) {
        for (const b of replicas) {
          if (a !== b) a.merge(b.deltaSince(a.version()), 'catch-up');
        }
      }
      const states = replicas.map((r) => hex(r.toBytes()));
      for (const s of states) assert.equal(s, states[0]);
      // And a second catch-up round moves nothing.
      for (const a of replicas) for (const b of replicas) if (a !== b) assert.equal(a.merge(b.deltaSince(a.version())), false);
      for (const r of replicas) r.free();
    });
  }
}
