import {
  Validator,
  isDuplicateKeyError,
  type AsyncServiceImplementation,
  type PendingEventRelay,
} from '@shop/platform';
import type { Caller, Logger } from '@shop/platform';
import { categoryEvents, type category } from '@shop/proto';
import { randomUUID } from 'node:crypto';
import { errors } from './errors';
import { categoryChange } from './events';
import type { ProductDirectory } from './products';
import type { CategoryChange, CategoryDoc, CategoryStore } from './store';

/** Publishes the CategoryChanged the writes left pending (the fast path; see events.ts). */
export type CategoryChanges = Pick<PendingEventRelay, 'publishSoon'>;

/** Dependencies of {@link createCategoryService}. */
export interface CategoryServiceDeps {
  store: CategoryStore;
  products: ProductDirectory;
  changes: CategoryChanges;
  clock?: () => Date;
}

const Change = categoryEvents.CategoryChangeKind;

/**
 * The categories one RPC's writes changed, published together when it ends (also when it fails
 * halfway: what was written is announced).
 */
class Touched {
  readonly ids = new Set<string>();
  constructor(private readonly now: () => Date) {}
  /** A change of `kind` happening now. */
  change(kind: categoryEvents.CategoryChangeKind): CategoryChange {
    return categoryChange(kind, this.now());
  }
  add(...ids: string[]): void {
    for (const id of ids) this.ids.add(id);
  }
}

const MAX_BATCH = 500;
const MAX_NAME = 100;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const END = Number.MAX_SAFE_INTEGER;

/** Derives a URL slug from a display name: "Téléphones & Co" → "telephones-co". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME);
}

const toProto = (doc: CategoryDoc, childCount: number): category.Category => ({
  id: doc._id,
  name: doc.name,
  slug: doc.slug,
  parentId: doc.parentId ?? '',
  position: doc.position,
  ancestorIds: doc.ancestorIds,
  path: doc.path,
  depth: doc.depth,
  childCount,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
  version: doc.version,
});

/**
 * Tree fields of a descendant `d` once its ancestor `node` sits where it sits now. Derived only
 * from the node's current state and the part of `d`'s path below the node, so running it twice
 * (a retried or resumed move) gives the same answer.
 */
function rebased(node: CategoryDoc, d: CategoryDoc) {
  const at = d.ancestorIds.indexOf(node._id);
  const ancestorIds = [...node.ancestorIds, node._id, ...d.ancestorIds.slice(at + 1)];
  const below = d.path
    .split('/')
    .filter((s) => s.length > 0)
    .slice(at + 1);
  return {
    id: d._id,
    ancestorIds,
    path: `${node.path}/${below.join('/')}`,
    depth: ancestorIds.length,
  };
}

/**
 * Brings every descendant of `node` in line with the node's current path, then clears the
 * node's `moving` mark.
 *
 * FerretDB has no multi-document transactions, so a move is two steps: (1) one atomic update of
 * the moved node that also sets `moving: true`; (2) this rewrite of the descendants, then the
 * mark is cleared. A crash between them leaves descendants with the old path, so subtree and
 * ancestor answers for that subtree are stale until (2) runs again: start-up runs it for every
 * node still marked, and repeating the same MoveCategory also runs it (it is idempotent).
 */
export async function finishMove(
  store: CategoryStore,
  node: CategoryDoc,
  touched: Touched,
): Promise<void> {
  const descendants = await store.descendantsOf(node._id);
  const changed = descendants
    .map((d) => ({ d, next: rebased(node, d) }))
    .filter(
      ({ d, next }) =>
        d.path !== next.path || d.ancestorIds.join('/') !== next.ancestorIds.join('/'),
    )
    .map(({ next }) => next);
  await store.rewriteTree(changed, touched.change(Change.CATEGORY_CHANGE_KIND_UPDATED));
  touched.add(...changed.map((c) => c.id));
  if (node.moving) await store.clearMoving(node._id, node.version);
}

/** Builds the CategoryService handlers. */
export function createCategoryService(
  deps: CategoryServiceDeps,
): AsyncServiceImplementation<category.CategoryServiceService> {
  const { store, products, changes } = deps;
  const now = deps.clock ?? (() => new Date());

  /** Runs one RPC's writes, then publishes what they changed. */
  const announcing = async <T>(work: (touched: Touched) => Promise<T>): Promise<T> => {
    const touched = new Touched(now);
    try {
      return await work(touched);
    } finally {
      changes.publishSoon(touched.ids);
    }
  };

  const mustGet = async (id: string): Promise<CategoryDoc> => {
    const doc = await store.get(id);
    if (!doc) throw errors.CATEGORY_NOT_FOUND({ metadata: { id } });
    return doc;
  };
  const withCounts = async (docs: CategoryDoc[]): Promise<category.Category[]> => {
    const counts = await store.childCounts(docs.map((d) => d._id));
    return docs.map((d) => toProto(d, counts.get(d._id) ?? 0));
  };
  const one = async (doc: CategoryDoc): Promise<category.Category> => (await withCounts([doc]))[0];
  /** Categories by id with their child counts: one store query. */
  const countedById = async (ids: readonly string[]): Promise<Map<string, category.Category>> =>
    new Map(
      (await store.getManyCounted(ids)).map(({ doc, childCount }) => [
        doc._id,
        toProto(doc, childCount),
      ]),
    );
  const requireId = (id: string, field = 'id'): void => {
    const v = new Validator();
    v.check(id.trim().length > 0, field, 'is required');
    v.throwIfInvalid();
  };
  const checkVersion = (doc: CategoryDoc, expected: number | undefined): void => {
    if (expected !== undefined && expected !== doc.version) {
      throw errors.STALE_VERSION({
        metadata: { id: doc._id, current_version: String(doc.version) },
      });
    }
  };
  const nextPosition = (siblings: CategoryDoc[]): number =>
    siblings.reduce((max, s) => Math.max(max, s.position + 1), 0);
  const slugTaken = (slug: string, parentId: string | null) =>
    errors.SLUG_TAKEN({ metadata: { slug, parent_id: parentId ?? '' } });
  const saved = (doc: CategoryDoc | null, id: string): CategoryDoc => {
    if (!doc) throw errors.STALE_VERSION({ metadata: { id } });
    return doc;
  };

  /** Moves `node` under `parent` (null: root); validation already done by the caller. */
  const relocate = async (
    node: CategoryDoc,
    parent: CategoryDoc | null,
    position: number | undefined,
    touched: Touched,
  ): Promise<CategoryDoc> => {
    const shifted = touched.change(Change.CATEGORY_CHANGE_KIND_UPDATED);
    const parentId = parent?._id ?? null;
    const sameParent = node.parentId === parentId;
    const siblings = (await store.children(parentId)).filter((s) => s._id !== node._id);
    if (!sameParent && siblings.some((s) => s.slug === node.slug)) {
      throw slugTaken(node.slug, parentId);
    }
    const end = nextPosition(siblings);
    const target =
      position === undefined ? (sameParent ? node.position : end) : Math.min(position, end);
    if (sameParent && target !== node.position) {
      if (target < node.position) {
        touched.add(
          ...(await store.shiftPositions(
            parentId,
            target,
            node.position - 1,
            1,
            shifted,
            node._id,
          )),
        );
      } else {
        touched.add(
          ...(await store.shiftPositions(
            parentId,
            node.position + 1,
            target,
            -1,
            shifted,
            node._id,
          )),
        );
      }
    } else if (!sameParent && target < end) {
      touched.add(...(await store.shiftPositions(parentId, target, END, 1, shifted, node._id)));
    }
    const ancestorIds = parent ? [...parent.ancestorIds, parent._id] : [];
    let updated: CategoryDoc | null;
    try {
      updated = await store.updateIfVersion(
        node._id,
        node.version,
        {
          parentId,
          ancestorIds,
          path: `${parent?.path ?? ''}/${node.slug}`,
          depth: ancestorIds.length,
          position: target,
          moving: true,
        },
        touched.change(Change.CATEGORY_CHANGE_KIND_MOVED),
      );
    } catch (err) {
      if (isDuplicateKeyError(err)) throw slugTaken(node.slug, parentId);
      throw err;
    }
    const moved = saved(updated, node._id);
    touched.add(moved._id);
    if (!sameParent) {
      touched.add(
        ...(await store.shiftPositions(node.parentId, node.position + 1, END, -1, shifted)),
      );
    }
    await finishMove(store, moved, touched);
    return mustGet(node._id);
  };

  const validateName = (v: Validator, name: string): void => {
    if (v.check(name.trim().length > 0, 'name', 'is required')) {
      v.check(name.length <= MAX_NAME, 'name', `must be at most ${MAX_NAME} characters`);
    }
  };
  const validateSlug = (v: Validator, slug: string): void => {
    if (
      v.check(SLUG.test(slug), 'slug', 'must be lower-case letters and digits separated by "-"')
    ) {
      v.check(slug.length <= MAX_NAME, 'slug', `must be at most ${MAX_NAME} characters`);
    }
  };

  return {
    async createCategory(req) {
      const v = new Validator();
      validateName(v, req.name);
      const slug = req.slug === '' ? slugify(req.name) : req.slug;
      if (req.slug !== '' || req.name.trim().length > 0) validateSlug(v, slug);
      if (req.position !== undefined) v.check(req.position >= 0, 'position', 'must be 0 or more');
      v.throwIfInvalid();

      const parent = req.parentId === '' ? null : await store.get(req.parentId);
      if (req.parentId !== '' && !parent) {
        throw errors.PARENT_NOT_FOUND({ metadata: { parent_id: req.parentId } });
      }
      const parentId = parent?._id ?? null;
      const siblings = await store.children(parentId);
      if (siblings.some((s) => s.slug === slug)) throw slugTaken(slug, parentId);
      const end = nextPosition(siblings);
      const position = req.position === undefined ? end : Math.min(req.position, end);
      return announcing(async (touched) => {
        if (position < end) {
          const shifted = touched.change(Change.CATEGORY_CHANGE_KIND_UPDATED);
          touched.add(...(await store.shiftPositions(parentId, position, END, 1, shifted)));
        }
        const created = touched.change(Change.CATEGORY_CHANGE_KIND_CREATED);
        const ancestorIds = parent ? [...parent.ancestorIds, parent._id] : [];
        const doc: CategoryDoc = {
          _id: randomUUID(),
          name: req.name.trim(),
          slug,
          parentId,
          ancestorIds,
          path: `${parent?.path ?? ''}/${slug}`,
          depth: ancestorIds.length,
          position,
          createdAt: created.at,
          updatedAt: created.at,
          version: 1,
        };
        try {
          await store.insert(doc, created);
        } catch (err) {
          if (isDuplicateKeyError(err)) throw slugTaken(slug, parentId);
          throw err;
        }
        touched.add(doc._id);
        return { category: toProto(doc, 0) };
      });
    },

    async getCategory(req) {
      requireId(req.id);
      const found = (await countedById([req.id])).get(req.id);
      if (!found) throw errors.CATEGORY_NOT_FOUND({ metadata: { id: req.id } });
      return { category: found };
    },

    async batchGetCategories(req) {
      const v = new Validator();
      v.check(req.ids.length <= MAX_BATCH, 'ids', `must have at most ${MAX_BATCH} ids`);
      req.ids.forEach((id, i) => v.check(id.length > 0, `ids[${i}]`, 'must not be empty'));
      v.throwIfInvalid();
      const unique = [...new Set(req.ids)];
      const byId = await countedById(unique);
      return {
        categories: unique.flatMap((id) => byId.get(id) ?? []),
        notFoundIds: unique.filter((id) => !byId.has(id)),
      };
    },

    async listRootCategories() {
      return { categories: await withCounts(await store.children(null)) };
    },

    async listChildren(req) {
      requireId(req.parentId, 'parent_id');
      const { node, children } = await store.withChildren(req.parentId);
      if (!node) throw errors.CATEGORY_NOT_FOUND({ metadata: { id: req.parentId } });
      return { categories: await withCounts(children) };
    },

    async getAncestors(req) {
      requireId(req.id);
      const node = await mustGet(req.id);
      const byId = await countedById(node.ancestorIds);
      return { ancestors: node.ancestorIds.flatMap((id) => byId.get(id) ?? []) };
    },

    async getSubtreeIds(req) {
      requireId(req.id);
      const node = await mustGet(req.id);
      const ids = (await store.descendantsOf(node._id)).map((d) => d._id);
      return { ids: req.includeSelf ? [node._id, ...ids] : ids };
    },

    async updateCategory(req) {
      const v = new Validator();
      v.check(req.id.length > 0, 'id', 'is required');
      if (req.name !== undefined) validateName(v, req.name);
      if (req.slug !== undefined) validateSlug(v, req.slug);
      if (req.position !== undefined) v.check(req.position >= 0, 'position', 'must be 0 or more');
      v.throwIfInvalid();

      let node = await mustGet(req.id);
      checkVersion(node, req.expectedVersion);
      return announcing(async (touched) => {
        if (req.position !== undefined && req.position !== node.position) {
          const parent = node.parentId === null ? null : await mustGet(node.parentId);
          node = await relocate(node, parent, req.position, touched);
        }
        const slugChanges = req.slug !== undefined && req.slug !== node.slug;
        if (slugChanges) {
          const siblings = await store.children(node.parentId);
          if (siblings.some((s) => s._id !== node._id && s.slug === req.slug)) {
            throw slugTaken(req.slug!, node.parentId);
          }
        }
        if (req.name !== undefined || slugChanges) {
          const slug = req.slug ?? node.slug;
          const parentPath = node.path.slice(0, node.path.length - node.slug.length - 1);
          let updated: CategoryDoc | null;
          try {
            updated = await store.updateIfVersion(
              node._id,
              node.version,
              {
                name: req.name?.trim() ?? node.name,
                slug,
                path: `${parentPath}/${slug}`,
                ...(slugChanges ? { moving: true } : {}),
              },
              touched.change(Change.CATEGORY_CHANGE_KIND_UPDATED),
            );
          } catch (err) {
            if (isDuplicateKeyError(err)) throw slugTaken(slug, node.parentId);
            throw err;
          }
          node = saved(updated, node._id);
          touched.add(node._id);
          // A new slug changes every descendant's path: the same two-step rewrite as a move.
          if (slugChanges) {
            await finishMove(store, node, touched);
            node = await mustGet(node._id);
          }
        }
        return { category: await one(node) };
      });
    },

    async moveCategory(req) {
      const v = new Validator();
      v.check(req.id.length > 0, 'id', 'is required');
      if (req.position !== undefined) v.check(req.position >= 0, 'position', 'must be 0 or more');
      v.throwIfInvalid();
      const node = await mustGet(req.id);
      checkVersion(node, req.expectedVersion);
      if (req.newParentId === node._id) {
        throw errors.MOVE_INTO_OWN_SUBTREE({ metadata: { id: node._id } });
      }
      const parent = req.newParentId === '' ? null : await store.get(req.newParentId);
      if (req.newParentId !== '' && !parent) {
        throw errors.PARENT_NOT_FOUND({ metadata: { parent_id: req.newParentId } });
      }
      if (parent?.ancestorIds.includes(node._id)) {
        throw errors.MOVE_INTO_OWN_SUBTREE({
          metadata: { id: node._id, new_parent_id: parent._id },
        });
      }
      return announcing(async (touched) => ({
        category: await one(await relocate(node, parent, req.position, touched)),
      }));
    },

    async deleteCategory(req, ctx) {
      requireId(req.id);
      const node = await mustGet(req.id);
      checkVersion(node, req.expectedVersion);
      const caller: Caller = ctx.caller;
      const kids = await store.children(node._id);
      const holdsProducts = await products.hasProducts(node._id, caller);
      if (!req.reparentChildren) {
        if (kids.length > 0) throw errors.HAS_CHILDREN({ metadata: { id: node._id } });
        if (holdsProducts) throw errors.HAS_PRODUCTS({ metadata: { id: node._id } });
      } else {
        if (holdsProducts && node.parentId === null) {
          throw errors.HAS_PRODUCTS({
            message: 'A root category that holds products cannot be deleted',
            metadata: { id: node._id },
          });
        }
        const newSiblings = await store.children(node.parentId);
        const clash = kids.find((k) => newSiblings.some((s) => s.slug === k.slug));
        if (clash) throw slugTaken(clash.slug, node.parentId);
      }
      const parent = node.parentId === null ? null : await mustGet(node.parentId);
      if (holdsProducts && parent) {
        const moved = await products.moveProducts(node._id, parent._id, caller);
        ctx.logger.info({ category_id: node._id, to: parent._id, moved }, 'products refiled');
      }
      return announcing(async (touched) => {
        // Re-read each child: moving one shifts (and so changes) the siblings after it.
        for (const kid of kids) await relocate(await mustGet(kid._id), parent, undefined, touched);
        const deleted = await store.markDeleted(
          node._id,
          touched.change(Change.CATEGORY_CHANGE_KIND_DELETED),
        );
        if (deleted) {
          touched.add(deleted._id);
          const shifted = touched.change(Change.CATEGORY_CHANGE_KIND_UPDATED);
          touched.add(
            ...(await store.shiftPositions(node.parentId, node.position + 1, END, -1, shifted)),
          );
        }
        return { reparentedChildIds: kids.map((k) => k._id) };
      });
    },
  };
}

/** Finishes moves a crash interrupted (see {@link finishMove}); run once at start-up. */
export async function resumeUnfinishedMoves(
  store: CategoryStore,
  changes: CategoryChanges,
  logger: Logger,
): Promise<void> {
  const touched = new Touched(() => new Date());
  try {
    for (const node of await store.unfinishedMoves()) {
      logger.warn({ category_id: node._id }, 'finishing an interrupted category move');
      await finishMove(store, node, touched);
    }
  } finally {
    changes.publishSoon(touched.ids);
  }
}
