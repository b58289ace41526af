import { order } from '@shop/proto';

const S = order.OrderStatus;
const R = order.CancellationReason;
type Status = order.OrderStatus;
type Reason = order.CancellationReason;

/** One allowed edge of the order lifecycle; cancellations list the reasons allowed on them. */
export interface TransitionRule {
  readonly from: Status;
  readonly to: Status;
  readonly reasons?: readonly Reason[];
}

/**
 * Every status change an order may make. Anything not listed is refused, so, for example, a
 * cancelled order can never be confirmed and a shipped order can no longer be cancelled.
 */
export const TRANSITIONS: readonly TransitionRule[] = [
  { from: S.ORDER_STATUS_PENDING, to: S.ORDER_STATUS_CONFIRMED },
  {
    from: S.ORDER_STATUS_PENDING,
    to: S.ORDER_STATUS_CANCELLED,
    reasons: [
      R.CANCELLATION_REASON_OUT_OF_STOCK,
      R.CANCELLATION_REASON_PAYMENT_DECLINED,
      R.CANCELLATION_REASON_PAYMENT_FAILED,
      R.CANCELLATION_REASON_CUSTOMER_CANCELLED,
      R.CANCELLATION_REASON_OPERATOR_CANCELLED,
      R.CANCELLATION_REASON_EXPIRED,
    ],
  },
  {
    // After payment only people cancel (and get refunded); stock and payment are settled.
    from: S.ORDER_STATUS_CONFIRMED,
    to: S.ORDER_STATUS_CANCELLED,
    reasons: [R.CANCELLATION_REASON_CUSTOMER_CANCELLED, R.CANCELLATION_REASON_OPERATOR_CANCELLED],
  },
  { from: S.ORDER_STATUS_CONFIRMED, to: S.ORDER_STATUS_SHIPPED },
  { from: S.ORDER_STATUS_SHIPPED, to: S.ORDER_STATUS_DELIVERED },
];

/** The result of checking a transition: allowed, or refused with a reason for logs and errors. */
export type TransitionCheck = { ok: true } | { ok: false; why: string };

const name = (s: Status): string => order.orderStatusToJSON(s).replace('ORDER_STATUS_', '');

/** Checks a status change (and, for cancellations, its reason) against {@link TRANSITIONS}. */
export function checkTransition(
  from: Status,
  to: Status,
  reason: Reason = R.CANCELLATION_REASON_UNSPECIFIED,
): TransitionCheck {
  const rule = TRANSITIONS.find((t) => t.from === from && t.to === to);
  if (!rule) return { ok: false, why: `${name(from)} cannot become ${name(to)}` };
  if (to === S.ORDER_STATUS_CANCELLED) {
    if (!rule.reasons?.includes(reason)) {
      return {
        ok: false,
        why: `${name(from)} cannot be cancelled with reason ${order.cancellationReasonToJSON(reason)}`,
      };
    }
  } else if (reason !== R.CANCELLATION_REASON_UNSPECIFIED) {
    return { ok: false, why: 'only cancellations carry a reason' };
  }
  return { ok: true };
}

/** True for statuses no transition leaves. */
export function isFinal(status: Status): boolean {
  return !TRANSITIONS.some((t) => t.from === status);
}
