import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The users subgraph's User, extended here with `signals`. */
@ObjectType('User')
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}
