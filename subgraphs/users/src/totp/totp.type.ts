import { Field, ObjectType } from 'type-graphql';

@ObjectType('TotpEnrollment', { description: 'Shown once: add it to an authenticator app, then call confirmTotp with a code.' })
export class TotpEnrollment {
  @Field(() => String, { description: 'Base32 secret for manual entry.' })
  secret!: string;

  @Field(() => String, { description: 'otpauth:// URL for a QR code.' })
  otpauthUrl!: string;
}
