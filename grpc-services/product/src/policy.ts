import { ADMIN_ROLE, anyone, roleOrService, type Policy } from '@shop/platform';
import type { product } from '@shop/proto';

const operators = roleOrService(ADMIN_ROLE);

/** The one place that says who may call each product RPC: reads are public, writes operators'. */
export const productPolicy: Policy<product.ProductServiceService> = {
  createProduct: operators,
  getProduct: anyone,
  batchGetProducts: anyone,
  listProducts: anyone,
  updateProduct: operators,
  deleteProduct: operators,
};
