import { ArgsType, Field, Int } from 'type-graphql';
import { IsInt, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { PageInfo } from './connection.type';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `first` and `after` of a forward cursor connection; out-of-range sizes are BAD_USER_INPUT. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: `Page size, 1..${MAX_PAGE_SIZE}.` })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @MaxLength(512)
  after?: string | null;
}

/** A null `first` (sent explicitly) means the default. */
export const pageSize = (first: number | null | undefined): number => first ?? DEFAULT_PAGE_SIZE;

/** Builds page info from rows fetched with one extra row to learn whether a next page exists. */
export function pageOf<T>(rows: T[], size: number, after: string | null | undefined, cursorOf: (row: T) => string): { items: T[]; cursors: string[]; pageInfo: PageInfo } {
  const items = rows.slice(0, size);
  const cursors = items.map(cursorOf);
  return {
    items,
    cursors,
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage: Boolean(after),
      startCursor: cursors[0] ?? null,
      endCursor: cursors[cursors.length - 1] ?? null,
    },
  };
}
