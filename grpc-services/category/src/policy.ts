import { ADMIN_ROLE, anyone, roleOrService, type Policy } from '@shop/platform';
import type { category } from '@shop/proto';

const operators = roleOrService(ADMIN_ROLE);

/** The one place that says who may call each category RPC: reads are public, writes operators'. */
export const categoryPolicy: Policy<category.CategoryServiceService> = {
  createCategory: operators,
  getCategory: anyone,
  batchGetCategories: anyone,
  listRootCategories: anyone,
  listChildren: anyone,
  getAncestors: anyone,
  getSubtreeIds: anyone,
  updateCategory: operators,
  moveCategory: operators,
  deleteCategory: operators,
};
