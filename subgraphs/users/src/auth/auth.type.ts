import { Field, ObjectType } from 'type-graphql';
import { User } from '../users/user.type';

@ObjectType('AuthPayload')
export class AuthPayload {
  @Field(() => String, { description: 'ES256 JWT for `Authorization: Bearer`; short-lived.' })
  accessToken!: string;

  @Field(() => Date)
  accessTokenExpiresAt!: Date;

  @Field(() => String, { description: 'Opaque, single use: `refreshToken` returns a new one and retires this one.' })
  refreshToken!: string;

  @Field(() => Date)
  refreshTokenExpiresAt!: Date;

  @Field(() => User)
  user!: User;
}
