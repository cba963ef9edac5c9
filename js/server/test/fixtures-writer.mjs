// Child process of storage.test.mjs: appends deltas of an ORSet to a FileStorage room as fast
// as it can, printing "acked <n>" after each append resolved (that is, after the fsync). The
// test SIGKILLs it at a random moment.
import { ORSet } from 'deltacrdt/sync';
import { Doc } from 'deltacrdt-provider';
import { FileStorage } from '../src/file-storage.js';

const [dir] = process.argv.slice(2);
const doc = await Doc.open('ORSet', { store: new FileStorage(dir).room('crash'), compactBytes: 4096 });
void ORSet;
for (let n = doc.replica.size; ; n++) {
  doc.replica.add(`e${n}`);
  await doc.flush();
  process.stdout.write(`acked ${n}\n`);
}
