import {
  batchLoader,
  codedError,
  fromGraphQLInput,
  graphqlFieldPath,
  paginate,
  present,
  rpc,
  signedInCaller,
  type Page,
  type SubgraphContext,
  type SubgraphResolvers,
  subgraphResolvers,
} from '@shop/graphql';
import { isAdmin, type Caller, type PromiseClient, type SignedInCaller } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import { order } from '@shop/proto';
import type { Resolvers } from '../generated/graphql';
import type DataLoader from 'dataloader';
import { inputShapes, protoResolvers } from '../generated/proto-resolvers';

/** The order service client this subgraph calls. */
export type OrderClient = PromiseClient<typeof order.OrderServiceService>;

/** Per-request context of the orders subgraph. */
export interface OrdersContext extends SubgraphContext {
  /** Orders by id through BatchGetOrders (one call per request tick); null when not visible. */
  readonly orderById: DataLoader<string, order.Order | null>;
}

/** Builds the per-request context: the base context plus fresh loaders. */
export function ordersContext(client: OrderClient, logger: Logger) {
  return (base: SubgraphContext): OrdersContext => ({
    ...base,
    orderById: batchLoader(
      async (ids) =>
        (await rpc(client.batchGetOrders({ ids: [...ids] }, { metadata: base.metadata() }), logger))
          .orders,
      (o) => o.id,
    ),
  });
}

const signedIn = (caller: Caller): SignedInCaller =>
  signedInCaller(caller, 'Sign in to see orders');

interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
}

/** `placeOrder`'s input as GraphQL delivers it (field names from generated/types.graphql). */
interface PlaceOrderInput {
  items: Array<{ productId: string; quantity: number }>;
  shippingAddress: Record<string, string | null>;
  paymentMethod: string;
  idempotencyKey: string;
}

/** Resolvers of the orders subgraph: thin translations to OrderService calls. */
export function ordersResolvers(
  client: OrderClient,
  logger: Logger,
): SubgraphResolvers<OrdersContext> {
  const list = (ctx: OrdersContext, customerId: string, args: ConnectionArgs) =>
    paginate(args, async (pageSize, pageToken): Promise<Page<order.Order>> => {
      const res = await rpc(
        client.listOrders(
          order.ListOrdersRequest.fromPartial({ customerId, page: { pageSize, pageToken } }),
          { metadata: ctx.metadata() },
        ),
        logger,
      );
      // Later reference lookups of these orders in the same request need no call.
      for (const o of res.orders) ctx.orderById.prime(o.id, o);
      return {
        items: res.orders,
        nextPageToken: res.page?.nextPageToken ?? '',
        totalSize: res.page?.totalSize,
      };
    });

  // Field names, arguments and the context are checked against the generated resolver types.
  const resolvers: Resolvers<OrdersContext> = {
    Query: {
      order: async (_: unknown, args: { id: string }, ctx) => {
        signedIn(ctx.caller);
        const found = await ctx.orderById.load(args.id);
        // Another customer's order reads exactly like a missing one.
        if (found === null) throw codedError('NOT_FOUND', 'Order not found', { id: args.id });
        return found;
      },
      myOrders: (_: unknown, args: ConnectionArgs, ctx) =>
        list(ctx, signedIn(ctx.caller).subject, args),
    },
    Mutation: {
      placeOrder: async (_: unknown, args: { input: PlaceOrderInput }, ctx) => {
        signedIn(ctx.caller);
        const res = await rpc(
          client.placeOrder(
            order.PlaceOrderRequest.fromPartial(
              fromGraphQLInput<order.PlaceOrderRequest>(inputShapes, 'PlaceOrderInput', args.input),
            ),
            { metadata: ctx.metadata() },
          ),
          logger,
          // The service names `lines[0].product_id`; the client sent `items[0].productId`.
          (path) => graphqlFieldPath(inputShapes, 'PlaceOrderInput', path),
        );
        return present(res.order, 'order', logger);
      },
      cancelOrder: async (_: unknown, args: { id: string; note?: string | null }, ctx) => {
        signedIn(ctx.caller);
        return present(
          (
            await rpc(
              client.cancelOrder(
                { id: args.id, note: args.note ?? '' },
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).order,
          'order',
          logger,
        );
      },
    },
    Order: {
      __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.orderById.load(ref.id),
      customer: (o: order.Order) => ({ __typename: 'User', id: o.customerId }),
    },
    OrderItem: {
      product: (line: order.OrderLine) => ({ __typename: 'Product', id: line.productId }),
    },
    User: {
      __resolveReference: (ref: { id: string }) => ref,
      orders: (user: { id: string }, args: ConnectionArgs, ctx: OrdersContext) => {
        const caller = signedIn(ctx.caller);
        // The service answers other callers with their own orders: never show those as someone
        // else's.
        if (caller.subject !== user.id && !isAdmin(caller)) {
          throw codedError('FORBIDDEN', "Only operators may read another user's orders");
        }
        return list(ctx, user.id, args);
      },
    },
  };
  return subgraphResolvers(protoResolvers, resolvers);
}
