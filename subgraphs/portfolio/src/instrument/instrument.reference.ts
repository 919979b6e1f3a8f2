import type { Instrument } from './instrument.type';

/** An Instrument reference is its symbol; `position` looks up the signed-in user's holding. */
export const instrumentReferences = {
  Instrument: {
    __resolveReference: (reference: { symbol: string }): Instrument => ({ symbol: reference.symbol }),
  },
};
