import {
  batchLoader,
  paginate,
  rpc,
  signedInCaller,
  type Page,
  type SubgraphContext,
  type SubgraphResolvers,
  subgraphResolvers,
} from '@shop/graphql';
import type { PromiseClient } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import type { notification } from '@shop/proto';
import type { Resolvers } from '../generated/graphql';
import type DataLoader from 'dataloader';
import { protoResolvers } from '../generated/proto-resolvers';

const SIGN_IN = 'Sign in to see your notifications';

/** The notification service client this subgraph calls. */
export type NotificationClient = PromiseClient<typeof notification.NotificationServiceService>;

/** Per-request context of the notifications subgraph. */
export interface NotificationsContext extends SubgraphContext {
  /** Notifications by id (GetNotification per id; the service has no batch RPC). */
  readonly notificationById: DataLoader<string, notification.Notification | null>;
}

/** Builds the per-request context: the base context plus fresh loaders. */
export function notificationsContext(client: NotificationClient, logger: Logger) {
  return (base: SubgraphContext): NotificationsContext => ({
    ...base,
    notificationById: batchLoader(
      async (ids) => {
        const found = await Promise.all(
          ids.map(async (id) => {
            try {
              return (
                await rpc(client.getNotification({ id }, { metadata: base.metadata() }), logger)
              ).notification;
            } catch (err) {
              if ((err as { extensions?: { code?: unknown } }).extensions?.code === 'NOT_FOUND') {
                return undefined;
              }
              throw err;
            }
          }),
        );
        return found.filter((n): n is notification.Notification => n !== undefined);
      },
      (n) => n.id,
    ),
  });
}

/** Resolvers of the notifications subgraph: thin translations to NotificationService calls. */
export function notificationsResolvers(
  client: NotificationClient,
  logger: Logger,
): SubgraphResolvers<NotificationsContext> {
  // Field names, arguments and the context are checked against the generated resolver types.
  const resolvers: Resolvers<NotificationsContext> = {
    Query: {
      myNotifications: (
        _: unknown,
        args: { first?: number | null; after?: string | null },
        ctx: NotificationsContext,
      ) => {
        const userId = signedInCaller(ctx.caller, SIGN_IN).subject;
        return paginate(
          args,
          async (pageSize, pageToken): Promise<Page<notification.Notification>> => {
            const res = await rpc(
              client.listNotifications(
                { userId, page: { pageSize, pageToken } },
                { metadata: ctx.metadata() },
              ),
              logger,
            );
            for (const n of res.notifications) ctx.notificationById.prime(n.id, n);
            return {
              items: res.notifications,
              nextPageToken: res.page?.nextPageToken ?? '',
              totalSize: res.page?.totalSize,
            };
          },
        );
      },
      notification: async (_: unknown, args: { id: string }, ctx: NotificationsContext) => {
        signedInCaller(ctx.caller, SIGN_IN);
        // The service answers NOT_FOUND for someone else's notification too (ids cannot be probed).
        const found = (
          await rpc(client.getNotification({ id: args.id }, { metadata: ctx.metadata() }), logger)
        ).notification;
        if (found !== undefined) ctx.notificationById.prime(found.id, found);
        return found ?? null;
      },
    },
    Notification: {
      __resolveReference: (ref: { id: string }, ctx: NotificationsContext) =>
        ctx.notificationById.load(ref.id),
      order: (n: notification.Notification) =>
        n.orderId ? { __typename: 'Order', id: n.orderId } : null,
    },
  };
  return subgraphResolvers(protoResolvers, resolvers);
}
