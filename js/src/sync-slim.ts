/** The slim entry of `deltacrdt/sync`, `deltacrdt/sync/slim`: `deltacrdt/slim` itself. @module */
export * from './slim.js';
