// GraphQL enums of this subgraph as the protobuf enums they are at run time (the generated
// proto-resolvers map each GraphQL name to its proto number); codegen's `enumValues` points here.
import { product } from '@shop/proto';

export const ProductOrderBy = product.ProductOrderBy;
export type ProductOrderBy = product.ProductOrderBy;
