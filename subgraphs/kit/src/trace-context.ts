import { randomFillSync } from 'node:crypto';

/** W3C Trace Context: which trace a request belongs to and the span that sent it. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** The sender's span: 16 lowercase hex digits, not all zero. */
  parentId: string;
  /** Two hex digits; `01` = sampled. */
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Reads a `traceparent` header; null when it is missing or invalid (the receiver then starts a new
 * trace). A later version is read by its version-00 fields, as the recommendation asks.
 */
export function parseTraceparent(header: string | string[] | undefined): TraceContext | null {
  if (typeof header !== 'string') return null;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return null;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return null;
  return { traceId: traceId!, parentId: parentId!, flags: flags! };
}

// Ids come from a pool of random bytes refilled 4 KiB at a time, as node's randomUUID does: a
// call into OpenSSL per id cost a webhook alert 18 µs, a twentieth of its CPU.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    // All zeros is the one invalid id.
    if (!/^0+$/.test(hex)) return hex;
  }
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);

/** The `traceparent` a service sends on: the trace it is in, with its own span as the parent. */
export const formatTraceparent = (traceId: string, spanId: string, flags: string): string => `00-${traceId}-${spanId}-${flags}`;
