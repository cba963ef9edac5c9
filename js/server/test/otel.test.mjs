// Metrics through @opentelemetry/api: with a meter provider registered globally (here a
// minimal one that records instruments and calls their callbacks), the server registers
// observable instruments with OpenTelemetry names and reports real per-peer figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metrics } from '@opentelemetry/api';
import { startServer } from '../src/server.js';
import { nodeClient, waitFor } from './helpers.mjs';

test('observable instruments on the global OpenTelemetry meter', { timeout: 20_000 }, async () => {
  const instruments = new Map();
  const meter = {
    createObservableGauge: (name, opts) => record(name, 'gauge', opts),
    createObservableCounter: (name, opts) => record(name, 'counter', opts),
  };
  function record(name, type, opts) {
    const inst = { type, unit: opts.unit, callbacks: [], addCallback: (cb) => inst.callbacks.push(cb), removeCallback() {} };
    instruments.set(name, inst);
    return inst;
  }
  assert.equal(metrics.setGlobalMeterProvider({ getMeter: () => meter }), true);
  const s = await startServer({ port: 0 });
  try {
    await waitFor(() => s.metrics.otel, 5000, 'instruments registered');
    const c = nodeClient(`ws://127.0.0.1:${s.port}`, 'otel', 'ORSet', { share: 'otel' });
    c.doc.replica.add('x');
    await waitFor(() => c.provider.synced, 5000, 'synced');
    const observe = (name) => {
      const out = [];
      for (const cb of instruments.get(name).callbacks) cb({ observe: (v, attrs) => out.push([v, attrs]) });
      return out;
    };
    assert.equal(instruments.get('deltacrdt.sync.peer.io').unit, 'By');
    assert.equal(instruments.get('deltacrdt.sync.peer.io').type, 'counter');
    const lacking = observe('deltacrdt.sync.peer.lacking');
    assert.deepEqual(lacking, [[0, { 'deltacrdt.room': 'otel', 'deltacrdt.peer': c.doc.replicaId.toString(16), 'deltacrdt.access': 'write' }]]);
    const io = observe('deltacrdt.sync.peer.io');
    const received = io.find(([, a]) => a['network.io.direction'] === 'receive');
    assert.ok(received[0] > 0, 'bytes received from the peer');
    c.provider.destroy();
  } finally {
    await s.close();
    metrics.disable();
  }
});
