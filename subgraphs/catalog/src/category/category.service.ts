import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { badInput, conflict, notFound, requireRole, type EntityManager, type RequestContext } from '../../../kit/src';
import { normalizeId, requireUuid } from '../shared/ids';
import { CategoryEntity } from './category.entity';
import type { CreateCategoryInput } from './category.input';
import { categoryById } from './category.loaders';
import { toCategory, type Category } from './category.type';

/** All categories (each with its parent link) or only the roots, by name. */
export async function listCategories(ctx: RequestContext, rootsOnly: boolean): Promise<Category[]> {
  const rows = await ctx.em.find(CategoryEntity, rootsOnly ? { parentId: null } : {}, { orderBy: { name: 'asc', id: 'asc' } });
  const categories = rows.map(toCategory);
  // `parent` lookups in the same request are then answered from the loader's cache.
  const loader = categoryById(ctx);
  for (const category of categories) loader.prime(category.id, category);
  return categories;
}

export async function findCategory(ctx: RequestContext, by: { id?: string | null; slug?: string | null }): Promise<Category | null> {
  if (Boolean(by.id) === Boolean(by.slug)) throw badInput('Give exactly one of id or slug', by.id ? 'slug' : 'id');
  if (by.id) return categoryById(ctx).load(requireUuid(by.id));
  const row = await ctx.em.findOne(CategoryEntity, { slug: by.slug! });
  return row ? toCategory(row) : null;
}

/** NOT_FOUND naming the first id that matches no category. */
export async function assertCategoriesExist(em: EntityManager, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await em.find(CategoryEntity, { id: { $in: ids } }, { fields: ['id'] });
  const known = new Set(found.map((category) => category.id));
  const missing = ids.find((id) => !known.has(id));
  if (missing) throw notFound('Category', missing);
}

export async function createCategory(ctx: RequestContext, input: CreateCategoryInput): Promise<Category> {
  requireRole(ctx.viewer, 'ADMIN');
  const parentId = input.parentId ? normalizeId(input.parentId) : null;
  try {
    const created = await ctx.em.transactional(async (em) => {
      if ((await em.count(CategoryEntity, { slug: input.slug })) > 0) throw conflict(`A category with slug ${input.slug} already exists`);
      if (parentId) await assertCategoriesExist(em, [parentId]);
      return em.create(CategoryEntity, { slug: input.slug, name: input.name.trim(), parentId });
    });
    return toCategory(created);
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw conflict(`A category with slug ${input.slug} already exists`);
    throw error;
  }
}
