import { outboxInsertSql } from '../src/outbox';
import { currentTraceparent, inSpan } from '../src/tracing';

describe('trace propagation into the outbox', () => {
  const span = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' };

  it('gives the events written inside a span that span as their traceparent, and none outside', async () => {
    expect(currentTraceparent()).toBeNull();
    const inside = await inSpan(span, async () => {
      await Promise.resolve();
      return outboxInsertSql('orders', [{ type: 'OrderPlaced', subject: 's', data: {} }]);
    });
    // The source, then the trace: the select list's parameters precede the rows'.
    expect(inside.params.slice(0, 2)).toEqual(['orders', `00-${span.traceId}-${span.spanId}-01`]);
    expect(outboxInsertSql('orders', [{ type: 'OrderPlaced', subject: 's', data: {} }]).params[1]).toBeNull();
  });
});
