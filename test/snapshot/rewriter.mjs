// A busy application for the snapshot tests: rewrites every file of `folders` folders, folder by folder
// and file by file, with a new generation each round. Each file is replaced whole, as crash-safe
// programs do it (written beside the source, fsync'd, then renamed over it), so at any instant every
// file is a complete version, and the files in writer order carry generations g…g, g-1…g-1: one moment.
// The fsync matters: a snapshot is crash-consistent (what a power cut at that instant would leave), and
// without it btrfs may hold a renamed file whose data was not yet written. A reader that reads files at
// different moments sees another pattern. Usage: node rewriter.mjs ROOT STAGING FOLDERS FILES BYTES READY_FILE
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, staging, folders, files, bytes, ready] = process.argv.slice(2);
const F = Number(folders), N = Number(files), size = Number(bytes);

/** The content of file `i` of folder `f` at generation `g` (the test computes the same). */
function content(f, i, g) {
  const line = `folder ${f} file ${i} generation ${g}\n`;
  return line.repeat(Math.ceil(size / line.length)).slice(0, size);
}

for (let f = 0; f < F; f++) mkdirSync(join(root, `f${f}`), { recursive: true });
mkdirSync(staging, { recursive: true });
let stop = false;
process.on('SIGTERM', () => { stop = true; });
for (let g = 1; !stop; g++) {
  for (let f = 0; f < F && !stop; f++) {
    for (let i = 0; i < N; i++) {
      const tmp = join(staging, `f${f}-${i}`);
      const fd = openSync(tmp, 'w');
      writeSync(fd, content(f, i, g));
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, join(root, `f${f}`, `file-${i}`));
    }
    // Let the signal in between folders (a round is a few milliseconds).
    await new Promise((r) => setImmediate(r));
  }
  if (g === 1) writeFileSync(ready, 'ready');
}
