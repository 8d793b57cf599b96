import { gunzipSync } from 'node:zlib';

/** One regular file from a tar archive. */
export interface TarEntry {
  name: string;
  data: Buffer;
}

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end >= 0 && end < start + length ? end : start + length);
}

function octal(buf: Buffer, start: number, length: number): number {
  const text = cString(buf, start, length).trim();
  return text ? parseInt(text, 8) : 0;
}

/** Reads the `path=` record of a pax extended header (POSIX long names). */
function paxPath(data: Buffer): string | undefined {
  const text = data.toString('utf8');
  let offset = 0;
  while (offset < text.length) {
    const space = text.indexOf(' ', offset);
    if (space < 0) break;
    const length = parseInt(text.slice(offset, space), 10);
    if (!length) break;
    const record = text.slice(space + 1, offset + length - 1);
    if (record.startsWith('path=')) return record.slice(5);
    offset += length;
  }
  return undefined;
}

/**
 * A tiny ustar/pax/GNU tar reader: enough for FHIR packages (`.tgz` with `package/*.json`),
 * so loading an IG needs no extra dependency.
 */
export function readTar(archive: Buffer): TarEntry[] {
  const buf = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const dataStart = offset + 512;
    const data = buf.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    let name = cString(header, 0, 100);
    const prefix = cString(header, 345, 155);
    if (prefix && header.toString('ascii', 257, 262) === 'ustar') name = `${prefix}/${name}`;
    if (longName) name = longName;
    longName = undefined;
    if (type === '0' || type === '\0' || type === '7') entries.push({ name, data: Buffer.from(data) });
  }
  return entries;
}
