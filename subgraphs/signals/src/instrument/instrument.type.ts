import { Directive, Field, ObjectType } from 'type-graphql';

/** trading's Instrument, extended here with the viewer's `signals` on it. */
@ObjectType('Instrument')
@Directive('@key(fields: "symbol")')
export class Instrument {
  @Field(() => String)
  symbol!: string;
}
