import { role, signedIn, ADMIN_ROLE, type Policy } from '@shop/platform';
import type { order } from '@shop/proto';

/**
 * The one place that says who may call each OrderService RPC: customers place, read and cancel
 * their own orders (the handlers narrow to the caller's orders), operators every order, and only
 * operators move an order through fulfilment.
 */
export const orderPolicy: Policy<order.OrderServiceService> = {
  placeOrder: signedIn,
  getOrder: signedIn,
  batchGetOrders: signedIn,
  listOrders: signedIn,
  cancelOrder: signedIn,
  markOrderShipped: role(ADMIN_ROLE),
  markOrderDelivered: role(ADMIN_ROLE),
};
