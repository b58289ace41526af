// GraphQL enums of this subgraph as the protobuf enums they are at run time (the generated
// proto-resolvers map each GraphQL name to its proto number); codegen's `enumValues` points here.
import { notification } from '@shop/proto';

export const NotificationChannel = notification.NotificationChannel;
export type NotificationChannel = notification.NotificationChannel;
export const NotificationStatus = notification.NotificationStatus;
export type NotificationStatus = notification.NotificationStatus;
