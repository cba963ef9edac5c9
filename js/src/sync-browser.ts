/** The browser entry of `deltacrdt/sync`: the `deltacrdt` browser entry itself. @module */
export * from './browser.js';
