import { order } from '@shop/proto';
import { checkTransition, isFinal } from '../src/state-machine';

const S = order.OrderStatus;
const R = order.CancellationReason;
const {
  ORDER_STATUS_PENDING: PENDING,
  ORDER_STATUS_CONFIRMED: CONFIRMED,
  ORDER_STATUS_CANCELLED: CANCELLED,
  ORDER_STATUS_SHIPPED: SHIPPED,
  ORDER_STATUS_DELIVERED: DELIVERED,
} = S;
const NONE = R.CANCELLATION_REASON_UNSPECIFIED;

const name = (s: order.OrderStatus) => order.orderStatusToJSON(s).replace('ORDER_STATUS_', '');
const reasonName = (r: order.CancellationReason) =>
  order.cancellationReasonToJSON(r).replace('CANCELLATION_REASON_', '');

describe('order state machine', () => {
  it.each([
    [PENDING, CONFIRMED, NONE, true],
    [PENDING, CANCELLED, R.CANCELLATION_REASON_OUT_OF_STOCK, true],
    [PENDING, CANCELLED, R.CANCELLATION_REASON_PAYMENT_DECLINED, true],
    [PENDING, CANCELLED, R.CANCELLATION_REASON_PAYMENT_FAILED, true],
    [PENDING, CANCELLED, R.CANCELLATION_REASON_CUSTOMER_CANCELLED, true],
    [PENDING, CANCELLED, R.CANCELLATION_REASON_OPERATOR_CANCELLED, true],
    [PENDING, CANCELLED, R.CANCELLATION_REASON_EXPIRED, true],
    [PENDING, CANCELLED, NONE, false],
    [PENDING, SHIPPED, NONE, false],
    [PENDING, DELIVERED, NONE, false],
    [PENDING, PENDING, NONE, false],
    [CONFIRMED, SHIPPED, NONE, true],
    [CONFIRMED, CANCELLED, R.CANCELLATION_REASON_CUSTOMER_CANCELLED, true],
    [CONFIRMED, CANCELLED, R.CANCELLATION_REASON_OPERATOR_CANCELLED, true],
    [CONFIRMED, CANCELLED, R.CANCELLATION_REASON_OUT_OF_STOCK, false],
    [CONFIRMED, CANCELLED, R.CANCELLATION_REASON_EXPIRED, false],
    [CONFIRMED, CANCELLED, R.CANCELLATION_REASON_PAYMENT_DECLINED, false],
    [CONFIRMED, PENDING, NONE, false],
    [CONFIRMED, DELIVERED, NONE, false],
    [CONFIRMED, CONFIRMED, NONE, false],
    [CANCELLED, CONFIRMED, NONE, false],
    [CANCELLED, PENDING, NONE, false],
    [CANCELLED, SHIPPED, NONE, false],
    [CANCELLED, CANCELLED, R.CANCELLATION_REASON_CUSTOMER_CANCELLED, false],
    [SHIPPED, DELIVERED, NONE, true],
    [SHIPPED, CANCELLED, R.CANCELLATION_REASON_CUSTOMER_CANCELLED, false],
    [SHIPPED, CANCELLED, R.CANCELLATION_REASON_OPERATOR_CANCELLED, false],
    [SHIPPED, CONFIRMED, NONE, false],
    [DELIVERED, CANCELLED, R.CANCELLATION_REASON_CUSTOMER_CANCELLED, false],
    [DELIVERED, SHIPPED, NONE, false],
    [CONFIRMED, SHIPPED, R.CANCELLATION_REASON_EXPIRED, false],
  ])('%s -> %s (reason %s) allowed: %s', (from, to, reason, allowed) => {
    const check = checkTransition(from, to, reason);
    expect({
      transition: `${name(from)}->${name(to)} ${reasonName(reason)}`,
      ok: check.ok,
    }).toEqual({
      transition: `${name(from)}->${name(to)} ${reasonName(reason)}`,
      ok: allowed,
    });
    if (!check.ok) expect(check.why).toMatch(/cannot|only cancellations/);
  });

  it.each([
    [PENDING, false],
    [CONFIRMED, false],
    [SHIPPED, false],
    [CANCELLED, true],
    [DELIVERED, true],
  ])('treats %s as final: %s', (status, final) => {
    expect(isFinal(status)).toBe(final);
  });
});
