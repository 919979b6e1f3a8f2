import type { RequestContext } from '../../../kit/src';
import { toInstrument, type Instrument } from './instrument.type';
import { instrumentBySymbol } from './market.service';

/** `_entities` for `Instrument`: every reference in one operation shares one batched query. */
export const instrumentReferences = {
  Instrument: {
    __resolveReference: async (reference: { symbol: string }, ctx: RequestContext): Promise<Instrument | null> => {
      const row = await instrumentBySymbol(ctx).load(reference.symbol);
      return row ? toInstrument(row) : null;
    },
  },
};
