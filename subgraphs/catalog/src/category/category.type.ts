import { Directive, Field, ID, ObjectType } from 'type-graphql';
import type { CategoryEntity } from './category.entity';

/** A node of the category tree; `parent`, `children` and `products` are field resolvers. */
@ObjectType('Category')
@Directive('@key(fields: "id")')
export class Category {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => String)
  name!: string;

  parentId!: string | null;
}

export const toCategory = (entity: Pick<CategoryEntity, 'id' | 'slug' | 'name' | 'parentId'>): Category => ({
  id: entity.id,
  slug: entity.slug,
  name: entity.name,
  parentId: entity.parentId,
});
