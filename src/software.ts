import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './project-root.js';

let info: { name: string; version: string } | undefined;

/** Name and version from package.json, for the CapabilityStatement. */
export function softwareInfo(): { name: string; version: string } {
  if (!info) {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { name: string; version: string };
    info = { name: pkg.name, version: pkg.version };
  }
  return info;
}
