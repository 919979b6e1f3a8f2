import { Directive, Field, ObjectType } from 'type-graphql';

/** trading's Instrument, extended here with `position`. */
@ObjectType('Instrument')
@Directive('@key(fields: "symbol")')
export class Instrument {
  @Field(() => String)
  symbol!: string;
}
