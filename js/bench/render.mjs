// Renders js/bench/RESULTS.md from the measurements bench.mjs saved in results.json.
// Usage: node render.mjs   (bench.mjs calls it at the end of every run)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const LIBS = ['ours', 'yjs', 'automerge', 'loro', 'crdts'];
const LABEL = { ours: 'deltacrdt', yjs: 'yjs', automerge: 'automerge', loro: 'loro-crdt', crdts: 'crdts (npm)' };

/** The markdown report of one run (`data` as bench.mjs writes it to results.json). */
export function render(data) {
  const { rows, wasm, large, machine, config, oursError } = data;
  const { ADDS, REMOVES, quick, iterations } = config;
  const fmt = (v, unit) =>
    v === undefined ? 'n/a' : unit === 'ms' ? v.toFixed(v < 10 ? 2 : 1) : unit === 'ns/op' ? v.toFixed(0) : String(v);
  const peersOf = (values) => Object.entries(values).filter(([k]) => k !== 'ours');
  function best(values) {
    const peers = peersOf(values);
    if (peers.length === 0) return null;
    return peers.reduce((a, b) => (b[1] < a[1] ? b : a));
  }

  const targets = [];
  function target(claim, ok) {
    targets.push({ claim, verdict: ok === null ? 'not measured' : ok ? '**met**' : '**not met**' });
  }
  const row = (id) => rows.find((r) => r.id === id);
  const FRAMEWORKS = ['yjs', 'automerge', 'loro'];
  const fasterThan = (r, libs) => {
    if (r.values.ours === undefined) return null;
    return peersOf(r.values)
      .filter(([k]) => libs === undefined || libs.includes(k))
      .every(([, v]) => r.values.ours < v);
  };
  target(`${ADDS} set adds (and ${REMOVES} removes) faster than yjs, Automerge and Loro`, fasterThan(row('set'), FRAMEWORKS));
  target(`${ADDS} set adds (and ${REMOVES} removes) faster than every peer, crdts (npm) included`, fasterThan(row('set')));
  target('counter workload faster than Automerge and Loro (Yjs has no counter)', fasterThan(row('counter'), FRAMEWORKS));
  target('counter workload faster than every peer with a counter, crdts (npm) included', fasterThan(row('counter')));
  const cu = row('catchup').values.ours;
  target('catch-up update after one add at most 40 bytes', cu === undefined ? null : cu <= 40);
  const full = row('state').values;
  target('full set state no larger than the smallest peer\'s', full.ours === undefined ? null : full.ours <= best(full)[1]);
  target(`full set state (${ADDS - REMOVES} elements) no larger than Automerge's (issue 11)`, full.ours === undefined || full.automerge === undefined ? null : full.ours <= full.automerge);
  const within2 = (id) => {
    const r = row(id);
    return r === undefined || r.values.ours === undefined || r.values.crdts === undefined ? null : r.values.ours <= 2 * r.values.crdts;
  };
  target('inc within 2x of crdts (npm), per operation (issue 11)', within2('inc'));
  target('set add within 2x of crdts (npm), per operation (issue 11)', within2('add'));
  target(
    `addAll of ${large?.n ?? 'n'} elements in wasm within 3x of native (issue 11)`,
    large && large.nativeMs !== null ? large.wasmMs <= 3 * large.nativeMs : null,
  );

  let md = '# Node benchmark results: deltacrdt (npm) vs yjs, Automerge, Loro and crdts (npm)\n\n';
  md += 'Written by `js/bench/bench.mjs`; do not edit by hand.\n\n';
  md += '## Machine\n\n';
  md += `- CPU: ${machine.cpu}\n- cores: ${machine.cores}\n- Node: ${machine.node}\n- date (UTC): ${machine.date}\n`;
  md += `- load average at the end: ${machine.load}\n`;
  if (machine.commit) md += `- git commit: ${machine.commit}\n`;
  md += `- configuration: ${quick ? 'quick (smaller workloads), ' : ''}median of ${iterations} runs per workload (${iterations * 2} for load and register), after one warm-up run; automerge: one run, no warm-up (about 1 ms per change here)\n\n`;
  md += '**Noise.** A 2-core machine shared with other jobs: absolute times can be off by tens of percent; the libraries of a row ran one after another in the same process.\n\n';
  if (oursError) md += `**deltacrdt was not measured:** ${oursError}.\n\n`;
  md += '## Targets of issue 4 (Node side)\n\n| target | verdict |\n|---|---|\n';
  for (const t of targets) md += `| ${t.claim} | ${t.verdict} |\n`;
  if (large) {
    md += `\n## One addAll of ${large.n} elements ("item-<i>")\n\n| deltacrdt (wasm) | native Rust (same call, release build) | wasm ÷ native | wasm memory after |\n|---:|---:|---:|---:|\n`;
    md += `| ${large.wasmMs.toFixed(0)} ms | ${large.nativeMs === null ? 'not measured' : large.nativeMs.toFixed(0) + ' ms'} | ${large.nativeMs ? (large.wasmMs / large.nativeMs).toFixed(2) : 'n/a'} | ${large.memoryMiB === undefined ? 'n/a' : large.memoryMiB.toFixed(0) + ' MiB'} |\n`;
    md += '\nNative: `bindings/wasm/examples/add_all.rs`, run by the bench (`cargo run --release -p deltacrdt-wasm --example add_all`).\n';
  }
  md += '\n## Results (lower is better; n/a: the library has no such type)\n\n';
  md += `| workload | unit | ${LIBS.map((l) => LABEL[l]).join(' | ')} | best peer | deltacrdt ÷ best peer |\n`;
  md += `|---|---|${LIBS.map(() => '---:').join('|')}|---|---:|\n`;
  for (const r of rows) {
    const b = best(r.values);
    const ratio = b && r.values.ours !== undefined ? (r.values.ours / b[1]).toFixed(3) : 'n/a';
    md += `| ${r.name} | ${r.unit} | ${LIBS.map((l) => fmt(r.values[l], r.unit)).join(' | ')} | ${b ? LABEL[b[0]] : 'n/a'} | ${ratio} |\n`;
  }
  md += '\n## WebAssembly size\n\n| package | version | wasm raw (bytes) | wasm gzip -9 (bytes) |\n|---|---|---:|---:|\n';
  for (const w of wasm) {
    md += `| ${w.lib} | ${w.version} | ${w.size ? w.size.raw : w.note ?? 'not built'} | ${w.size ? w.size.gzip : 'n/a'} |\n`;
  }
  md += '\n## How each library runs the workloads\n\n';
  md += '- Every operation is committed on its own: Yjs runs one implicit transaction per call, Automerge one `change` per operation, Loro `commit()` after each operation, deltacrdt and crdts (npm) apply each call at once.\n';
  md += '- Yjs and Automerge have no set type: a map keyed by the element, with `true` values, is their set. Yjs has no counter. The register is a map key written repeatedly (Yjs, Automerge, Loro) and an `LWWRegister` (deltacrdt).\n';
  md += '- Counter merge: replica 1 merges the full encoded state of each other replica (Automerge: `save`/`load` then `merge`; Loro: snapshot `import`; crdts (npm): JSON).\n';
  md += '- Full state: `toBytes` (deltacrdt), `encodeStateAsUpdate` (Yjs), `save` (Automerge), snapshot `export` (Loro). Load: into a fresh replica, with a check of its size.\n';
  md += '- Catch-up: a second replica loaded from the full state; the first adds one element; the update is `deltaSince(version)` (deltacrdt), `encodeStateAsUpdate(doc, stateVector)` (Yjs), `saveSince(heads)` (Automerge), `export({mode: "update", from: version})` (Loro); it is applied and checked.\n';
  md += '- Every timed run checks that the library ended in the same state as the others (counter value, set size, register value); the size, load and catch-up rows use the final set of the last timed run.\n';

  return md;
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const data = JSON.parse(readFileSync(join(here, 'results.json'), 'utf8'));
  const md = render(data);
  writeFileSync(join(here, 'RESULTS.md'), md);
  console.log(md);
}
