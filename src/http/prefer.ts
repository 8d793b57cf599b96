import type { FastifyRequest } from 'fastify';

export interface Prefer {
  return?: 'minimal' | 'representation' | 'OperationOutcome';
  handling?: 'strict' | 'lenient';
}

/** RFC 7240 Prefer header, the parts FHIR uses. */
export function parsePrefer(req: FastifyRequest): Prefer {
  const out: Prefer = {};
  const h = req.headers.prefer;
  const raw = Array.isArray(h) ? h.join(',') : h;
  if (!raw) return out;
  for (const part of raw.split(/[,;]/)) {
    const [k, v] = part.split('=').map((x) => x?.trim().replace(/^"|"$/g, ''));
    if (k === 'return' && (v === 'minimal' || v === 'representation' || v === 'OperationOutcome')) out.return = v;
    if (k === 'handling' && (v === 'strict' || v === 'lenient')) out.handling = v;
  }
  return out;
}
