import { ArrayMaxSize, IsBoolean, IsDefined, IsEnum, IsInt, IsObject, IsString, Length, Matches, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { UUID_PATTERN } from '../shared/ids';
import { MoneyInput } from '../shared/money.type';
import { PageArgs } from '../shared/pagination';
import { ProductKind } from './product-kind';

export const SKU_PATTERN = /^[A-Z0-9]+(?:-[A-Z0-9]+)*$/;
export const MAX_ATTRIBUTES_BYTES = 16_384;
const given = (_input: object, value: unknown) => value !== undefined;
const present = (_input: object, value: unknown) => value !== undefined && value !== null;
const NOT_BLANK = /\S/;

@InputType('CreateProductInput')
export class CreateProductInput {
  @Field(() => String, { description: 'Upper-case letters and digits in dash-separated groups, e.g. IND-RSI-DIV; unique.' })
  @Length(2, 64)
  @Matches(SKU_PATTERN, { message: 'sku must be upper-case letters and digits in dash-separated groups' })
  sku!: string;

  @Field(() => String)
  @Length(1, 200)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name!: string;

  @Field(() => String, { defaultValue: '' })
  @IsString()
  @MaxLength(5000)
  description!: string;

  @Field(() => ProductKind)
  @IsEnum(ProductKind)
  kind!: ProductKind;

  @Field(() => MoneyInput)
  @ValidateNested()
  price!: MoneyInput;

  @Field(() => GraphQLJSONObject, { nullable: true })
  @ValidateIf(present)
  @IsObject()
  attributes?: Record<string, unknown> | null;

  @Field(() => [ID], { defaultValue: [] })
  @ArrayMaxSize(20)
  @Matches(UUID_PATTERN, { each: true, message: 'categoryIds must be UUIDs' })
  categoryIds!: string[];

  @Field(() => Boolean, { defaultValue: true })
  @IsBoolean()
  active!: boolean;
}

/**
 * Only the fields given change; an explicit null is refused (`@IsDefined`, the one check type-graphql's
 * `skipMissingProperties` does not skip) except for `attributes`, where it clears them.
 */
@InputType('UpdateProductInput')
export class UpdateProductInput {
  @Field(() => String, { nullable: true })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @Length(2, 64)
  @Matches(SKU_PATTERN, { message: 'sku must be upper-case letters and digits in dash-separated groups' })
  sku?: string;

  @Field(() => String, { nullable: true })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @Length(1, 200)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name?: string;

  @Field(() => String, { nullable: true })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @IsString()
  @MaxLength(5000)
  description?: string;

  @Field(() => ProductKind, { nullable: true })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @IsEnum(ProductKind)
  kind?: ProductKind;

  @Field(() => MoneyInput, { nullable: true })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @IsObject()
  @ValidateNested()
  price?: MoneyInput;

  @Field(() => GraphQLJSONObject, { nullable: true })
  @ValidateIf(present)
  @IsObject()
  attributes?: Record<string, unknown> | null;

  @Field(() => [ID], { nullable: true, description: 'Replaces the product\'s categories.' })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @ArrayMaxSize(20)
  @Matches(UUID_PATTERN, { each: true, message: 'categoryIds must be UUIDs' })
  categoryIds?: string[];

  @Field(() => Boolean, { nullable: true })
  @ValidateIf(given)
  @IsDefined({ message: '$property must not be null' })
  @IsBoolean()
  active?: boolean;
}

@InputType('ProductFilter')
export class ProductFilter {
  @Field(() => ID, { nullable: true, description: 'Products in this category or any category below it.' })
  @ValidateIf(present)
  @Matches(UUID_PATTERN, { message: 'categoryId must be a UUID' })
  categoryId?: string | null;

  @Field(() => String, { nullable: true, description: 'Like categoryId, by slug.' })
  @ValidateIf(present)
  @MaxLength(100)
  categorySlug?: string | null;

  @Field(() => ProductKind, { nullable: true })
  @ValidateIf(present)
  @IsEnum(ProductKind)
  kind?: ProductKind | null;

  @Field(() => Int, { nullable: true, description: 'Minimum price in minor units, inclusive.' })
  @ValidateIf(present)
  @IsInt()
  @Min(0)
  minPrice?: number | null;

  @Field(() => Int, { nullable: true, description: 'Maximum price in minor units, inclusive.' })
  @ValidateIf(present)
  @IsInt()
  @Min(0)
  maxPrice?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Admins only may list archived products; others always see active ones.' })
  @ValidateIf(present)
  @IsBoolean()
  active?: boolean | null;
}

@ArgsType()
export class ProductsArgs extends PageArgs {
  @Field(() => ProductFilter, { nullable: true })
  @ValidateIf(present)
  @ValidateNested()
  filter?: ProductFilter | null;

  @Field(() => String, { nullable: true, description: 'Full-text search (web search syntax: "quoted phrases", -exclusions, or); results ranked by relevance.' })
  @ValidateIf(present)
  @MaxLength(200)
  search?: string | null;
}
