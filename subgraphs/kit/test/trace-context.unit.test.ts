import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from '../src';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  it('reads a version-00 header, the example of the recommendation', () => {
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: '01' });
  });

  it('reads a later version by its version-00 fields, extra fields included', () => {
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01-what-the-future-adds`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: '01' });
  });

  it('refuses what the recommendation calls invalid', () => {
    for (const header of [
      undefined,
      ['00', TRACE],
      '',
      `00-${TRACE}-${PARENT}-01-extra`,
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${PARENT}-01`,
      `00-${TRACE.slice(1)}-${PARENT}-01`,
    ]) {
      expect(parseTraceparent(header)).toBeNull();
    }
  });

  it('makes ids of the right shape and writes them back as a header', () => {
    const traceId = newTraceId();
    const spanId = newSpanId();
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(newTraceId()).not.toBe(traceId);
    expect(parseTraceparent(formatTraceparent(traceId, spanId, '00'))).toEqual({ traceId, parentId: spanId, flags: '00' });
  });

  it('never repeats an id across refills of its random pool', () => {
    // 2,000 of each draw 48 KB: the 4 KiB pool is refilled a dozen times.
    const traceIds = Array.from({ length: 2000 }, () => newTraceId());
    const spanIds = Array.from({ length: 2000 }, () => newSpanId());
    expect(new Set(traceIds).size).toBe(2000);
    expect(new Set(spanIds).size).toBe(2000);
    expect(traceIds.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(spanIds.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
  });
});
