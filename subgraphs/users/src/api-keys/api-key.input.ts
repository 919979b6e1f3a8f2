import { ArrayNotEmpty, ArrayUnique, Max, Min, ValidateBy, ValidateIf } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { ApiKeyScopeEnum, type ApiKeyScope } from './api-key.type';

const API_KEY_NAME_MAX_LENGTH = 100;
const API_KEY_MAX_DAYS = 3650;

const present = (_object: unknown, value: unknown) => value !== null && value !== undefined;

/** Characters as Postgres counts them (code points), after the trim the service applies before storing. */
const TrimmedLength = (min: number, max: number, message: string) =>
  ValidateBy(
    {
      name: 'trimmedLength',
      validator: {
        validate: (value: unknown) => {
          const length = typeof value === 'string' ? [...value.trim()].length : -1;
          return length >= min && length <= max;
        },
      },
    },
    { message },
  );

@InputType('CreateApiKeyInput')
export class CreateApiKeyInput {
  @Field(() => String, { description: `1 to ${API_KEY_NAME_MAX_LENGTH} characters, to tell keys apart.` })
  @TrimmedLength(1, API_KEY_NAME_MAX_LENGTH, `name must be 1 to ${API_KEY_NAME_MAX_LENGTH} characters`)
  name!: string;

  @Field(() => [ApiKeyScopeEnum], { description: 'At least one, each once.' })
  @ArrayNotEmpty({ message: 'scopes must not be empty' })
  @ArrayUnique({ message: 'scopes must not repeat' })
  scopes!: ApiKeyScope[];

  @Field(() => Int, { nullable: true, description: `Days until the key stops working, 1 to ${API_KEY_MAX_DAYS}; omitted: it never expires.` })
  @ValidateIf(present)
  @Min(1, { message: 'expiresInDays must be at least 1' })
  @Max(API_KEY_MAX_DAYS, { message: `expiresInDays must be at most ${API_KEY_MAX_DAYS}` })
  expiresInDays?: number | null;
}
