import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A reference to a user owned by the users subgraph; the router resolves its other fields there. */
@ObjectType('User')
@Directive('@key(fields: "id", resolvable: false)')
export class User {
  @Field(() => ID)
  id!: string;
}
