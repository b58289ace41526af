import { isDomainError } from '@shop/platform';
import { order } from '@shop/proto';
import { PLACE_ORDER_LIMITS, validatePlaceOrder } from '../src/service';

const valid = (): order.PlaceOrderRequest =>
  order.PlaceOrderRequest.fromPartial({
    lines: [{ productId: 'p-1', quantity: 2 }],
    shippingAddress: {
      recipientName: 'Alice',
      line1: 'Hauptstr. 1',
      city: 'Berlin',
      postalCode: '10115',
      countryCode: 'DE',
    },
    paymentMethodToken: 'pm_card_visa',
    idempotencyKey: 'key-1',
  });

/** The field paths a request is refused for (empty when it is valid). */
function violations(request: order.PlaceOrderRequest): string[] {
  try {
    validatePlaceOrder(request);
    return [];
  } catch (err) {
    if (!isDomainError(err)) throw err;
    expect(err.reason).toBe('INVALID_ARGUMENT');
    return err.fieldViolations.map((v) => v.field);
  }
}

const withAddress = (patch: Partial<NonNullable<order.PlaceOrderRequest['shippingAddress']>>) => {
  const r = valid();
  return { ...r, shippingAddress: { ...r.shippingAddress!, ...patch } };
};

describe('PlaceOrder validation', () => {
  it.each<[string, order.PlaceOrderRequest, string[]]>([
    ['a complete request', valid(), []],
    ['no lines', { ...valid(), lines: [] }, ['lines']],
    [
      'too many lines',
      {
        ...valid(),
        lines: Array.from({ length: PLACE_ORDER_LIMITS.maxLines + 1 }, (_, i) => ({
          productId: `p-${i}`,
          quantity: 1,
        })),
      },
      ['lines'],
    ],
    [
      'an empty product id',
      { ...valid(), lines: [{ productId: ' ', quantity: 1 }] },
      ['lines[0].product_id'],
    ],
    [
      'the same product twice',
      {
        ...valid(),
        lines: [
          { productId: 'p-1', quantity: 1 },
          { productId: 'p-1', quantity: 2 },
        ],
      },
      ['lines[1].product_id'],
    ],
    [
      'a zero quantity',
      { ...valid(), lines: [{ productId: 'p-1', quantity: 0 }] },
      ['lines[0].quantity'],
    ],
    [
      'a negative quantity',
      { ...valid(), lines: [{ productId: 'p-1', quantity: -3 }] },
      ['lines[0].quantity'],
    ],
    [
      'an absurd quantity',
      { ...valid(), lines: [{ productId: 'p-1', quantity: PLACE_ORDER_LIMITS.maxQuantity + 1 }] },
      ['lines[0].quantity'],
    ],
    ['no shipping address', { ...valid(), shippingAddress: undefined }, ['shipping_address']],
    ['no recipient', withAddress({ recipientName: '' }), ['shipping_address.recipient_name']],
    ['no street', withAddress({ line1: '' }), ['shipping_address.line1']],
    ['no city', withAddress({ city: '' }), ['shipping_address.city']],
    ['no postal code', withAddress({ postalCode: '' }), ['shipping_address.postal_code']],
    ['a lower-case country', withAddress({ countryCode: 'de' }), ['shipping_address.country_code']],
    ['a country name', withAddress({ countryCode: 'Germany' }), ['shipping_address.country_code']],
    ['a phone not in E.164', withAddress({ phone: '030 123' }), ['shipping_address.phone']],
    ['no payment method', { ...valid(), paymentMethodToken: '' }, ['payment_method_token']],
    ['no idempotency key', { ...valid(), idempotencyKey: '' }, ['idempotency_key']],
    [
      'an overlong idempotency key',
      { ...valid(), idempotencyKey: 'k'.repeat(PLACE_ORDER_LIMITS.maxIdempotencyKeyLength + 1) },
      ['idempotency_key'],
    ],
    [
      'several problems at once',
      { ...valid(), lines: [], paymentMethodToken: '', idempotencyKey: '' },
      ['lines', 'payment_method_token', 'idempotency_key'],
    ],
  ])('%s', (_case, request, expected) => {
    expect(violations(request)).toEqual(expected);
  });
});
