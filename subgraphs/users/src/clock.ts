/** The time services act on; tests inject one to move past lockouts and expiries without sleeping. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
