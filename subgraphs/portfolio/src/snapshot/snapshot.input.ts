import { IsOptional, Max, Min } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';

@ArgsType()
export class SnapshotsArgs {
  @Field(() => Date, { nullable: true, description: 'Snapshots taken at or after this time.' })
  @IsOptional()
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Snapshots taken before this time.' })
  @IsOptional()
  to?: Date | null;

  @Field(() => Int, { nullable: true, description: 'The latest this many of the range, oldest first (default and maximum SNAPSHOTS_MAX_PAGE).' })
  @IsOptional()
  @Min(1, { message: 'first must be at least 1' })
  @Max(100_000, { message: 'first must be at most 100000' })
  first?: number | null;
}

@ArgsType()
export class RiskMetricsArgs {
  @Field(() => Date, { nullable: true, description: 'Only snapshots taken at or after this time.' })
  @IsOptional()
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Only snapshots taken before this time.' })
  @IsOptional()
  to?: Date | null;
}
