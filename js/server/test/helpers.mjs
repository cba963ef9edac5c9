// Shared helpers: a real server process, Node clients, Chromium.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Doc, WebSocketProvider } from 'deltacrdt-provider';
import { withTimeout } from './util.mjs';

export const serverDir = fileURLToPath(new URL('..', import.meta.url));
export const bin = path.join(serverDir, 'bin', 'deltacrdt-server.js');

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `deltacrdt-${prefix}-`));
}

/** Starts `deltacrdt-server` as a child process; resolves once it listens. */
export async function spawnServer(args) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const port = await withTimeout(new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on ws:\/\/[\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  }), 15_000, 'the server process starts');
  return {
    child,
    port,
    stderr: () => err,
    kill(signal = 'SIGKILL') {
      return new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill(signal);
      });
    },
  };
}

/** A Node client: a Doc in memory and a provider. */
export function nodeClient(url, room, kind, options = {}) {
  const doc = new Doc(kind, { tickMs: 40 });
  const provider = new WebSocketProvider(url, room, doc, { WebSocket, minBackoffMs: 50, maxBackoffMs: 800, ...options });
  const errors = [];
  provider.on('error', (e) => errors.push(e));
  return { doc, provider, errors };
}

export async function waitFor(cond, ms, what, every = 25) {
  return withTimeout((async () => {
    for (;;) {
      const v = await cond();
      if (v) return v;
      await new Promise((r) => setTimeout(r, every));
    }
  })(), ms, what);
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Launches Chromium with a fresh profile directory; `close()` removes it. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  // launch() runs Chromium on a fresh temporary --user-data-dir of its own; each
  // newContext() is an isolated profile (its own IndexedDB), like a second browser.
  const browser = await withTimeout(chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: CHROMIUM_ARGS,
  }), 40_000, 'Chromium starts');
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

/** Opens a page, collecting its errors. */
export async function openPage(context, url, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(url, { timeout: 20_000 });
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
  return page;
}

/** GET a room's state over HTTP. */
export async function getState(port, room, token) {
  const res = await fetch(`http://127.0.0.1:${port}/rooms/${encodeURIComponent(room)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, etag: res.headers.get('etag'), bytes: new Uint8Array(await res.arrayBuffer()) };
}
