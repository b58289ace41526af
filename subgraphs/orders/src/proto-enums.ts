// GraphQL enums of this subgraph as the protobuf enums they are at run time (the generated
// proto-resolvers map each GraphQL name to its proto number); codegen's `enumValues` points here.
import { common, order } from '@shop/proto';

export const OrderStatus = order.OrderStatus;
export type OrderStatus = order.OrderStatus;
export const CancellationReason = order.CancellationReason;
export type CancellationReason = order.CancellationReason;
export const ActorType = common.ActorType;
export type ActorType = common.ActorType;
