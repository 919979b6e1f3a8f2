import { IsOptional, Matches } from 'class-validator';
import { ArgsType, Field } from 'type-graphql';
import { CURRENCY_PATTERN } from '../shared/money';

@ArgsType()
export class SalesReportArgs {
  @Field(() => Date, { description: 'The report starts on the UTC day of this time.' })
  from!: Date;

  @Field(() => Date, { description: 'The report ends with the UTC day of this time (included).' })
  to!: Date;

  @Field(() => String, { nullable: true, description: 'ISO 4217 code; default: the configured report currency (REPORT_DEFAULT_CURRENCY).' })
  @IsOptional()
  @Matches(CURRENCY_PATTERN, { message: 'currency must be three upper-case letters (ISO 4217)' })
  currency?: string | null;
}
