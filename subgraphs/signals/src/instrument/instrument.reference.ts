import type { Instrument } from './instrument.type';

/** Signals keeps no instruments: a reference is its symbol (trading owns the rest). */
export const instrumentReferences = {
  Instrument: {
    __resolveReference: (reference: { symbol: string }): Instrument => ({ symbol: reference.symbol }),
  },
};
