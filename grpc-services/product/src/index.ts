/** The product service: the catalog over gRPC. */
export { startProductService } from './app';
export type { ProductOverrides } from './app';
export type { CategoryDirectory } from './categories';
export { loadProductConfig } from './config';
export type { ProductConfig } from './config';
export { errors as productErrors } from './errors';
export { productPolicy } from './policy';
export { createProductStore, productIndexes } from './store';
export type { ProductDoc, ProductStore } from './store';
