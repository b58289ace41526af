// Public surface of @shop/proto: the generated contracts, one namespace per .proto file, plus
// google.protobuf.Any helpers and the location of the descriptor set.
import path from 'node:path';

export * as common from '../generated/shop/common/v1/common';
export * as events from '../generated/shop/events/v1/envelope';
export * as product from '../generated/shop/product/v1/product';
export * as productEvents from '../generated/shop/product/v1/events';
export * as category from '../generated/shop/category/v1/category';
export * as categoryEvents from '../generated/shop/category/v1/events';
export * as inventory from '../generated/shop/inventory/v1/inventory';
export * as inventoryEvents from '../generated/shop/inventory/v1/events';
export * as user from '../generated/shop/user/v1/user';
export * as order from '../generated/shop/order/v1/order';
export * as orderEvents from '../generated/shop/order/v1/events';
export * as notification from '../generated/shop/notification/v1/notification';
export * as notificationEvents from '../generated/shop/notification/v1/events';
export { Any } from '../generated/google/protobuf/any';
export { anyTypeName, packAny, unpackAny, type MessageType } from './any';

// This file runs as proto/src/index.ts (ts-jest) or proto/dist/src/index.js (compiled); the
// descriptor set is not compiled, so it is always found from the package root.
const packageRoot = path.resolve(
  __dirname,
  path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..',
);

/**
 * Absolute path of the binary FileDescriptorSet of every contract (with imports and source
 * info), for gRPC server reflection and schema generators.
 */
export const descriptorSetPath = path.join(packageRoot, 'generated', 'descriptor-set.binpb');
