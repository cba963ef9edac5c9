// Bundler smoke test: esbuild bundles a consumer app (no plugins, no loaders) for the browser
// and for Node, and each bundle runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const app = fileURLToPath(new URL('./fixtures/bundle-app.mjs', import.meta.url));
const expected = { a: ['x', 'y', { z: [1, 2] }], b: ['x', 'y', { z: [1, 2] }], counter: 42 };

for (const platform of ['browser', 'node']) {
  test(`esbuild bundle for ${platform} runs`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-bundle-'));
    try {
      const outfile = path.join(dir, 'app.mjs');
      const result = await build({
        entryPoints: [app],
        bundle: true,
        format: 'esm',
        platform,
        outfile,
        logLevel: 'silent',
        minify: true,
      });
      assert.deepEqual(result.errors, []);
      const text = fs.readFileSync(outfile, 'utf8');
      assert.ok(!/from\s*["']deltacrdt/.test(text), 'the package is inside the bundle');
      const out = execFileSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 20_000 });
      const got = JSON.parse(out);
      // Elements come in canonical order: compare as sets.
      assert.equal(got.counter, expected.counter);
      assert.deepEqual(new Set(got.a.map((v) => JSON.stringify(v))), new Set(expected.a.map((v) => JSON.stringify(v))));
      assert.deepEqual(got.a, got.b);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
