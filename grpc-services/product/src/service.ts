import {
  Validator,
  isDuplicateKeyError,
  pageTokens,
  type AsyncServiceImplementation,
  type PendingEventRelay,
} from '@shop/platform';
import { product, productEvents, type common } from '@shop/proto';
import { createHash, randomUUID } from 'node:crypto';
import type { CategoryDirectory } from './categories';
import { errors } from './errors';
import { productChange } from './events';
import {
  sortValueOf,
  type ListOrder,
  type ProductChanges,
  type ProductDoc,
  type ProductQuery,
  type ProductStore,
  type SortValue,
} from './store';

/** Dependencies of {@link createProductService}. */
export interface ProductServiceDeps {
  store: ProductStore;
  categories: CategoryDirectory;
  /** Publishes the ProductChanged a write left pending (the fast path; see events.ts). */
  changes: Pick<PendingEventRelay, 'publishSoon'>;
  clock?: () => Date;
}

const Change = productEvents.ProductChangeKind;
const MAX_BATCH = 500;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CURRENCY = /^[A-Z]{3}$/;
const UPDATABLE = [
  'sku',
  'name',
  'description',
  'price',
  'category_id',
  'images',
  'attributes',
] as const;
type UpdatablePath = (typeof UPDATABLE)[number];

const ORDER: Record<product.ProductOrderBy, ListOrder> = {
  [product.ProductOrderBy.PRODUCT_ORDER_BY_UNSPECIFIED]: 'created',
  [product.ProductOrderBy.PRODUCT_ORDER_BY_NAME_ASC]: 'name',
  [product.ProductOrderBy.PRODUCT_ORDER_BY_PRICE_ASC]: 'price_asc',
  [product.ProductOrderBy.PRODUCT_ORDER_BY_PRICE_DESC]: 'price_desc',
  [product.ProductOrderBy.PRODUCT_ORDER_BY_NEWEST]: 'newest',
};

/** Maps a stored product to the contract. */
export function toProto(doc: ProductDoc): product.Product {
  return {
    id: doc._id,
    sku: doc.sku,
    name: doc.name,
    description: doc.description,
    price: { amount: doc.price.amount, currency: doc.price.currency },
    categoryId: doc.categoryId,
    images: doc.images,
    attributes: doc.attributes,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    version: doc.version,
    deleted: doc.deleted,
    deletedAt: doc.deletedAt ?? undefined,
  };
}

/**
 * Page tokens carry the last item's sort key `[sortValue, id]` and belong to the listing's order
 * and a short hash of its filter. Listing continues strictly after that key (keyset pagination),
 * so items inserted meanwhile never shift a page: nothing already listed repeats and nothing
 * that existed is skipped. A token presented with another order or filter, or tampered with, is
 * INVALID_ARGUMENT.
 */
const filterHash = (filter: product.ProductFilter | undefined): string =>
  createHash('sha256')
    .update(
      JSON.stringify(product.ProductFilter.toJSON(product.ProductFilter.fromPartial(filter ?? {}))),
    )
    .digest('base64url')
    .slice(0, 12);

/** Product pages continue strictly after the last item's sort key (`[sortValue, id]`). */
const productPages = pageTokens<[SortValue, string]>((value) =>
  Array.isArray(value) &&
  value.length === 2 &&
  (typeof value[0] === 'number' || typeof value[0] === 'string') &&
  typeof value[1] === 'string'
    ? [value[0], value[1]]
    : undefined,
);
/** A product page token belongs to one order and filter. */
const productListing = (order: ListOrder, fingerprint: string): string =>
  `${order}\n${fingerprint}`;

/** Field checks shared by create and update; `at` prefixes paths (e.g. `product.`). */
const checks = {
  sku(v: Validator, sku: string, at: string): void {
    if (v.check(sku.length > 0, `${at}sku`, 'is required')) {
      v.check(
        SKU.test(sku),
        `${at}sku`,
        'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      );
    }
  },
  name(v: Validator, name: string, at: string): void {
    if (v.check(name.trim().length > 0, `${at}name`, 'is required')) {
      v.check(name.length <= 200, `${at}name`, 'must be at most 200 characters');
    }
  },
  description(v: Validator, description: string, at: string): void {
    v.check(description.length <= 5000, `${at}description`, 'must be at most 5000 characters');
  },
  price(v: Validator, price: common.Money | undefined, at: string): void {
    if (!v.check(price !== undefined, `${at}price`, 'is required')) return;
    v.check(
      Number.isSafeInteger(price!.amount) && price!.amount >= 0,
      `${at}price.amount`,
      'must be a whole number of minor units, 0 or more',
    );
    v.check(
      CURRENCY.test(price!.currency),
      `${at}price.currency`,
      'must be an ISO 4217 code in upper case, e.g. EUR',
    );
  },
  categoryId(v: Validator, id: string, at: string): void {
    v.check(id.trim().length > 0, `${at}category_id`, 'is required');
  },
  images(v: Validator, images: product.ProductImage[], at: string): void {
    v.check(images.length <= 20, `${at}images`, 'must have at most 20 images');
    images.forEach((img, i) => {
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(img.url).protocol);
      } catch {
        ok = false;
      }
      v.check(ok, `${at}images[${i}].url`, 'must be an absolute http(s) URL');
      v.check(
        img.altText.length <= 200,
        `${at}images[${i}].alt_text`,
        'must be at most 200 characters',
      );
    });
  },
  attributes(v: Validator, attributes: product.ProductAttribute[], at: string): void {
    v.check(attributes.length <= 50, `${at}attributes`, 'must have at most 50 attributes');
    const seen = new Set<string>();
    attributes.forEach((a, i) => {
      const path = `${at}attributes[${i}]`;
      const named =
        v.check(a.name.trim().length > 0, `${path}.name`, 'is required') &&
        v.check(a.name.length <= 100, `${path}.name`, 'must be at most 100 characters');
      if (named) v.check(!seen.has(a.name), `${path}.name`, 'must be unique within the product');
      v.check(a.value.length <= 500, `${path}.value`, 'must be at most 500 characters');
      seen.add(a.name);
    });
  },
};

const cleanImages = (images: product.ProductImage[]) =>
  images.map((i) => ({ url: i.url, altText: i.altText }));
const cleanAttributes = (attributes: product.ProductAttribute[]) =>
  attributes.map((a) => ({ name: a.name.trim(), value: a.value }));

/** Builds the ProductService handlers. */
export function createProductService(
  deps: ProductServiceDeps,
): AsyncServiceImplementation<product.ProductServiceService> {
  const { store, categories, changes } = deps;
  const now = deps.clock ?? (() => new Date());

  const requireId = (id: string): void => {
    const v = new Validator();
    v.check(id.length > 0, 'id', 'is required');
    v.throwIfInvalid();
  };
  const mustGet = async (id: string): Promise<ProductDoc> => {
    const doc = await store.get(id);
    if (!doc) throw errors.PRODUCT_NOT_FOUND({ metadata: { id } });
    return doc;
  };
  /** Explains why a conditional update matched nothing. */
  const whyNotUpdated = async (id: string, expectedVersion: number | undefined) => {
    const doc = await mustGet(id);
    if (doc.deleted) return errors.PRODUCT_DELETED({ metadata: { id } });
    return errors.STALE_VERSION({
      metadata: {
        id,
        expected_version: String(expectedVersion),
        current_version: String(doc.version),
      },
    });
  };
  const skuTaken = (sku: string, cause: unknown) => errors.SKU_TAKEN({ metadata: { sku }, cause });

  return {
    async createProduct(req, ctx) {
      const v = new Validator();
      checks.sku(v, req.sku, '');
      checks.name(v, req.name, '');
      checks.description(v, req.description, '');
      checks.price(v, req.price, '');
      checks.categoryId(v, req.categoryId, '');
      checks.images(v, req.images, '');
      checks.attributes(v, req.attributes, '');
      v.throwIfInvalid();
      if (!(await categories.exists(req.categoryId, ctx.caller))) {
        throw errors.CATEGORY_NOT_FOUND({ metadata: { category_id: req.categoryId } });
      }
      const at = now();
      const name = req.name.trim();
      const doc: ProductDoc = {
        _id: randomUUID(),
        sku: req.sku,
        name,
        nameLower: name.toLowerCase(),
        description: req.description,
        price: { amount: req.price!.amount, currency: req.price!.currency },
        categoryId: req.categoryId,
        images: cleanImages(req.images),
        attributes: cleanAttributes(req.attributes),
        createdAt: at,
        updatedAt: at,
        version: 1,
        deleted: false,
        deletedAt: null,
        pendingEvent: productChange(Change.PRODUCT_CHANGE_KIND_CREATED, at),
      };
      try {
        await store.insert(doc);
      } catch (err) {
        if (isDuplicateKeyError(err)) throw skuTaken(req.sku, err);
        throw err;
      }
      changes.publishSoon([doc._id]);
      ctx.logger.info({ product_id: doc._id, sku: doc.sku }, 'product created');
      return { product: toProto(doc) };
    },

    async getProduct(req) {
      requireId(req.id);
      return { product: toProto(await mustGet(req.id)) };
    },

    async batchGetProducts(req) {
      const v = new Validator();
      v.check(req.ids.length <= MAX_BATCH, 'ids', `must have at most ${MAX_BATCH} ids`);
      req.ids.forEach((id, i) => v.check(id.length > 0, `ids[${i}]`, 'must not be empty'));
      v.throwIfInvalid();
      const unique = [...new Set(req.ids)];
      const byId = new Map((await store.getMany(unique)).map((d) => [d._id, d]));
      return {
        products: unique.flatMap((id) => {
          const doc = byId.get(id);
          return doc ? [toProto(doc)] : [];
        }),
        notFoundIds: unique.filter((id) => !byId.has(id)),
      };
    },

    async listProducts(req, ctx) {
      const filter = req.filter ?? product.ProductFilter.fromPartial({});
      const order = ORDER[req.orderBy] as ListOrder | undefined;
      const pageSize = req.page?.pageSize ?? 0;
      const token = req.page?.pageToken ?? '';
      const v = new Validator();
      v.check(order !== undefined, 'order_by', 'is not a known order');
      v.check(pageSize >= 0, 'page.page_size', 'must be 0 or more');
      v.check(
        !filter.includeSubcategories || filter.categoryId !== '',
        'filter.include_subcategories',
        'needs filter.category_id',
      );
      v.check(
        filter.nameQuery.length <= 200,
        'filter.name_query',
        'must be at most 200 characters',
      );
      for (const [key, money] of [
        ['min_price', filter.minPrice],
        ['max_price', filter.maxPrice],
      ] as const) {
        if (money === undefined) continue;
        v.check(
          CURRENCY.test(money.currency),
          `filter.${key}.currency`,
          'must be an ISO 4217 code',
        );
        v.check(money.amount >= 0, `filter.${key}.amount`, 'must be 0 or more');
      }
      if (filter.minPrice && filter.maxPrice) {
        if (
          v.check(
            filter.minPrice.currency === filter.maxPrice.currency,
            'filter.max_price.currency',
            'must match filter.min_price.currency',
          )
        ) {
          v.check(
            filter.minPrice.amount <= filter.maxPrice.amount,
            'filter.max_price.amount',
            'must not be below filter.min_price.amount',
          );
        }
      }
      const fingerprint = filterHash(filter);
      v.throwIfInvalid();
      const listing = productListing(order!, fingerprint);
      const after = token === '' ? undefined : productPages.decode(token, listing);

      const query: ProductQuery = {
        includeDeleted: filter.includeDeleted,
        inStockOnly: filter.inStockOnly,
      };
      if (filter.sku !== '') query.sku = filter.sku;
      if (filter.nameQuery.trim() !== '')
        query.nameContains = filter.nameQuery.trim().toLowerCase();
      const priced = filter.minPrice ?? filter.maxPrice;
      if (priced) {
        query.price = { currency: priced.currency };
        if (filter.minPrice) query.price.min = filter.minPrice.amount;
        if (filter.maxPrice) query.price.max = filter.maxPrice.amount;
      }
      if (filter.categoryId !== '') {
        if (filter.includeSubcategories) {
          const ids = await categories.subtreeIds(filter.categoryId, ctx.caller);
          // An unknown category holds nothing: an empty page, not an error.
          if (ids === null) return { products: [], page: { nextPageToken: '' } };
          query.categoryIds = ids;
        } else {
          query.categoryIds = [filter.categoryId];
        }
      }
      const limit = Math.min(pageSize === 0 ? DEFAULT_PAGE : pageSize, MAX_PAGE);
      // One extra row tells whether another page exists without a count.
      const rows = await store.list(
        query,
        order!,
        after && { value: after[0], id: after[1] },
        limit + 1,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextPageToken =
        rows.length > limit && last
          ? productPages.encode([sortValueOf(last, order!), last._id], listing)
          : '';
      return { products: page.map(toProto), page: { nextPageToken } };
    },

    async updateProduct(req, ctx) {
      const mask = req.updateMask ?? [];
      const v = new Validator();
      v.check(req.id.length > 0, 'id', 'is required');
      v.check(mask.length > 0, 'update_mask', 'must name at least one field');
      mask.forEach((path, i) =>
        v.check(
          (UPDATABLE as readonly string[]).includes(path),
          `update_mask.paths[${i}]`,
          `"${path}" cannot be updated; allowed: ${UPDATABLE.join(', ')}`,
        ),
      );
      if (mask.length > 0) v.check(req.product !== undefined, 'product', 'is required');
      v.throwIfInvalid();
      const p = req.product!;
      const paths = new Set(mask as UpdatablePath[]);
      const at = 'product.';
      if (paths.has('sku')) checks.sku(v, p.sku, at);
      if (paths.has('name')) checks.name(v, p.name, at);
      if (paths.has('description')) checks.description(v, p.description, at);
      if (paths.has('price')) checks.price(v, p.price, at);
      if (paths.has('category_id')) checks.categoryId(v, p.categoryId, at);
      if (paths.has('images')) checks.images(v, p.images, at);
      if (paths.has('attributes')) checks.attributes(v, p.attributes, at);
      v.throwIfInvalid();

      if (paths.has('category_id') && !(await categories.exists(p.categoryId, ctx.caller))) {
        throw errors.CATEGORY_NOT_FOUND({ metadata: { category_id: p.categoryId } });
      }
      const set: ProductChanges = {};
      if (paths.has('sku')) set.sku = p.sku;
      if (paths.has('name')) {
        set.name = p.name.trim();
        set.nameLower = set.name.toLowerCase();
      }
      if (paths.has('description')) set.description = p.description;
      if (paths.has('price')) set.price = { amount: p.price!.amount, currency: p.price!.currency };
      if (paths.has('category_id')) set.categoryId = p.categoryId;
      if (paths.has('images')) set.images = cleanImages(p.images);
      if (paths.has('attributes')) set.attributes = cleanAttributes(p.attributes);
      let updated: ProductDoc | null;
      const changedAt = now();
      try {
        updated = await store.update(
          req.id,
          req.expectedVersion,
          { ...set, updatedAt: changedAt },
          productChange(Change.PRODUCT_CHANGE_KIND_UPDATED, changedAt),
        );
      } catch (err) {
        if (isDuplicateKeyError(err)) throw skuTaken(p.sku, err);
        throw err;
      }
      if (!updated) throw await whyNotUpdated(req.id, req.expectedVersion);
      changes.publishSoon([updated._id]);
      return { product: toProto(updated) };
    },

    async deleteProduct(req, ctx) {
      requireId(req.id);
      const current = await mustGet(req.id);
      // Deleting twice is a no-op that returns the deleted product (safe retries).
      if (current.deleted) return { product: toProto(current) };
      const at = now();
      const updated = await store.update(
        req.id,
        req.expectedVersion,
        { deleted: true, deletedAt: at, updatedAt: at },
        productChange(Change.PRODUCT_CHANGE_KIND_DELETED, at),
      );
      if (!updated) throw await whyNotUpdated(req.id, req.expectedVersion);
      changes.publishSoon([updated._id]);
      ctx.logger.info({ product_id: req.id }, 'product soft-deleted');
      return { product: toProto(updated) };
    },
  };
}
