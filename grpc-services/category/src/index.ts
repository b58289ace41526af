/** The category service: the category tree over gRPC. */
export { startCategoryService } from './app';
export type { CategoryOverrides } from './app';
export { loadCategoryConfig } from './config';
export type { CategoryConfig } from './config';
export { errors as categoryErrors } from './errors';
export { categoryPolicy } from './policy';
export type { ProductDirectory } from './products';
export { slugify } from './service';
