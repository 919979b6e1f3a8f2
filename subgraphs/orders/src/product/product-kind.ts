/** The catalog's product kinds, as carried by ProductChanged events. */
export enum ProductKind {
  INDICATOR = 'INDICATOR',
  PLAN = 'PLAN',
  GOOD = 'GOOD',
}

export const PRODUCT_KINDS: readonly string[] = Object.values(ProductKind);

/** Kinds delivered on payment (nothing to ship): an order of only these is fulfilled when paid. */
export const DIGITAL_KINDS: readonly string[] = [ProductKind.INDICATOR, ProductKind.PLAN];

export const isDigital = (kind: string): boolean => DIGITAL_KINDS.includes(kind);
