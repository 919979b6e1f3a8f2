import type { EntityManager } from '../../../kit/src';
import type { DemoProduct } from '../../../../scripts/demo-data';
import { CategoryEntity } from '../category/category.entity';
import { ProductCategoryEntity, ProductEntity } from '../product/product.entity';
import { recordProductChanged } from '../product/product.events';
import type { ProductKind } from '../product/product-kind';

export interface SeedCategory {
  slug: string;
  name: string;
  /** Slug of the parent, listed earlier; null for a root. */
  parent: string | null;
}

export interface SeedResult {
  categoriesCreated: number;
  productsCreated: number;
}

/**
 * Seeds categories (by slug) and products (keeping their ids) in one transaction, skipping
 * whatever exists already (a product is known by its id or its sku), so running it again
 * changes nothing. Each product created records a ProductChanged event, like an admin create.
 * Products get decreasing creation times, so the newest-first listing shows them in list order.
 */
export async function seedCatalog(em: EntityManager, categories: readonly SeedCategory[], products: readonly DemoProduct[]): Promise<SeedResult> {
  return em.transactional(async (tx) => {
    const existingCategories = await tx.find(CategoryEntity, { slug: { $in: categories.map((category) => category.slug) } });
    const idBySlug = new Map(existingCategories.map((category) => [category.slug, category.id] as const));
    let categoriesCreated = 0;
    for (const category of categories) {
      if (idBySlug.has(category.slug)) continue;
      let parentId: string | null = null;
      if (category.parent !== null) {
        parentId = idBySlug.get(category.parent) ?? (await tx.findOne(CategoryEntity, { slug: category.parent }))?.id ?? null;
        if (!parentId) throw new Error(`Seed category ${category.slug} names unknown parent ${category.parent}; list parents first`);
      }
      const created = tx.create(CategoryEntity, { slug: category.slug, name: category.name, parentId });
      idBySlug.set(category.slug, created.id);
      categoriesCreated += 1;
    }

    const existingProducts = await tx.find(
      ProductEntity,
      { $or: [{ id: { $in: products.map((product) => product.id) } }, { sku: { $in: products.map((product) => product.sku) } }] },
      { fields: ['id', 'sku'] },
    );
    const knownIds = new Set(existingProducts.map((product) => product.id));
    const knownSkus = new Set(existingProducts.map((product) => product.sku));
    const fresh = products.filter((product) => !knownIds.has(product.id) && !knownSkus.has(product.sku));
    const now = Date.now();
    const created = fresh.map((product, index) => {
      const categoryId = idBySlug.get(product.category) ?? null;
      if (!categoryId) throw new Error(`Seed product ${product.sku} names unknown category ${product.category}`);
      const at = new Date(now - index);
      const entity = tx.create(ProductEntity, {
        id: product.id,
        sku: product.sku,
        name: product.name,
        description: product.description,
        kind: product.kind as ProductKind,
        priceAmount: product.priceAmount,
        currency: product.currency,
        attributes: product.attributes,
        active: true,
        createdAt: at,
        updatedAt: at,
      });
      return { entity, categoryId };
    });
    // Categories and products first: the category links reference both.
    await tx.flush();
    for (const { entity, categoryId } of created) {
      tx.create(ProductCategoryEntity, { productId: entity.id, categoryId });
      recordProductChanged(tx, entity);
    }
    return { categoriesCreated, productsCreated: created.length };
  });
}
