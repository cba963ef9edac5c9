// @ts-check
/**
 * `deltacrdt-provider`: connect deltacrdt replicas to a sync server (WebSocket), to other tabs
 * (BroadcastChannel) and to storage (IndexedDB, memory, or your own adapter).
 *
 * ```js
 * import { Doc, WebSocketProvider } from 'deltacrdt-provider';
 * const cart = new Doc('ORSet');
 * new WebSocketProvider('ws://127.0.0.1:8787', 'cart-42', cart);
 * cart.replica.add('sku-1');
 * ```
 * @module
 */
export { Doc } from './doc.js';
export { WebSocketProvider, Connection } from './websocket.js';
export { BroadcastChannelProvider } from './broadcast.js';
export { MemoryStorage, MemoryReplicaStore } from './memory.js';
/**
 * @typedef {import('./doc.js').ReplicaStore} ReplicaStore
 * @typedef {import('./doc.js').ReplicaRecord} ReplicaRecord
 * @typedef {import('./doc.js').ReplicaMeta} ReplicaMeta
 * @typedef {import('./doc.js').Storage} Storage
 * @typedef {import('./doc.js').Transport} Transport
 * @typedef {import('./doc.js').DocOptions} DocOptions
 * @typedef {import('./websocket.js').ProviderOptions} ProviderOptions
 * @typedef {import('./websocket.js').Status} Status
 */
