import { Length, Matches, ValidateIf } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { UUID_PATTERN } from '../shared/ids';

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

@InputType('CreateCategoryInput')
export class CreateCategoryInput {
  @Field(() => String, { description: 'Lower-case letters and digits in dash-separated groups; unique.' })
  @Length(1, 100)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case letters and digits in dash-separated groups' })
  slug!: string;

  @Field(() => String)
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;

  @Field(() => ID, { nullable: true, description: 'The parent category; none for a root.' })
  @ValidateIf((_input, value) => value !== undefined && value !== null)
  @Matches(UUID_PATTERN, { message: 'parentId must be a UUID' })
  parentId?: string | null;
}
