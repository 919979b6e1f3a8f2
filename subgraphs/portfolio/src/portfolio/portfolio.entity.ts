import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A user's portfolio, written with its first fill or first target allocation. Its id follows from
 * the user id (portfolioIdOf), so a user without a row still has a portfolio: an empty one.
 */
@Entity({ tableName: 'portfolio' })
export class PortfolioEntity {
  [OptionalProps]?: 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100, unique: true })
  userId!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** Last fill or target change. */
  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
