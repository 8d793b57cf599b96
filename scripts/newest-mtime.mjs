// The newest modification time under some paths (files, and folders with all they hold; a missing
// one counts 0): what the build and the test runner compare with their outputs. A folder's own
// time counts too, so a deleted file makes its folder newer.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function newestMtime(...paths) {
  let t = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const st = statSync(path);
    t = Math.max(t, st.mtimeMs);
    if (st.isDirectory()) for (const e of readdirSync(path)) t = Math.max(t, newestMtime(join(path, e)));
  }
  return t;
}
