import { Dec } from '../shared/decimal';

export interface FillAmounts {
  base: string | null;
  quote: string;
  quantity: string;
  price: string;
  fee: string;
  feeCurrency: string;
}

export interface FillFigures {
  /** quantity × price, in the quote currency. */
  volume: string;
  /** The fee in the quote currency: as is, or valued at the fill price when charged in the base asset. */
  fees: string;
  /** False when the fee is in a third currency (an exchange's own token): left out of `fees`. */
  feeCounted: boolean;
}

/** What one fill adds to the trading rollups; exact decimal strings. */
export function fillFigures(fill: FillAmounts): FillFigures {
  const volume = new Dec(fill.quantity).times(fill.price);
  let fees = new Dec(0);
  let feeCounted = true;
  if (fill.feeCurrency === fill.quote) fees = new Dec(fill.fee);
  else if (fill.base !== null && fill.feeCurrency === fill.base) fees = new Dec(fill.fee).times(fill.price);
  else feeCounted = new Dec(fill.fee).isZero();
  return { volume: volume.toFixed(), fees: fees.toFixed(), feeCounted };
}
