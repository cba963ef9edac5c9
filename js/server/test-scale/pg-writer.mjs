// Child process of scale.test.mjs: appends deltas of an ORSet to a PgStorage room as fast as it
// can, printing "acked <n>" after each append resolved (after the commit). The test SIGKILLs it.
import { Doc } from 'deltacrdt-provider';
import { PgStorage } from '../src/pg-storage.js';

const [url, ns] = process.argv.slice(2);
const doc = await Doc.open('ORSet', { store: new PgStorage(url, { namespace: ns }).room('crash'), compactBytes: 2048 });
for (let n = doc.replica.size; ; n++) {
  doc.replica.add(`e${n}`);
  await doc.flush();
  process.stdout.write(`acked ${n}\n`);
}
