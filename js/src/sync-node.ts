/** The Node entry of `deltacrdt/sync`: the `deltacrdt` Node entry itself. @module */
export * from './node.js';
