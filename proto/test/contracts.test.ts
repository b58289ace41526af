import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import {
  categoryEvents,
  descriptorSetPath,
  events,
  order,
  orderEvents,
  packAny,
  productEvents,
  unpackAny,
} from '@shop/proto';

const orderCreated: orderEvents.OrderCreated = {
  orderId: 'ord_1',
  customerId: 'user-sub-1',
  lines: [
    {
      productId: 'prod_1',
      sku: 'SKU-1',
      productName: 'Kettle',
      quantity: 2,
      unitPrice: { amount: 2_499, currency: 'EUR' },
      lineTotal: { amount: 4_998, currency: 'EUR' },
    },
  ],
  total: { amount: 4_998, currency: 'EUR' },
  idempotencyKey: 'key-1',
  customerEmail: 'alice@shop.local',
};

describe('event contracts', () => {
  it('round-trips an envelope carrying a packed OrderCreated', () => {
    const envelope: events.EventEnvelope = {
      eventId: 'evt_1',
      eventType: orderEvents.OrderCreated.$type,
      occurredAt: new Date('2025-01-02T03:04:05.678Z'),
      aggregateType: 'order',
      aggregateId: 'ord_1',
      aggregateVersion: 1,
      payload: packAny(orderEvents.OrderCreated, orderCreated),
      producer: 'order-service',
      traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      causationId: '',
      metadata: { tenant: 'demo' },
    };

    const decoded = events.EventEnvelope.decode(events.EventEnvelope.encode(envelope).finish());

    expect(decoded).toEqual(envelope);
    expect(decoded.payload?.typeUrl).toBe('type.googleapis.com/shop.order.v1.OrderCreated');
    expect(unpackAny(orderEvents.OrderCreated, decoded.payload!)).toEqual(orderCreated);
  });

  it('refuses to unpack a payload of another type', () => {
    const payload = packAny(orderEvents.OrderCreated, orderCreated);

    expect(unpackAny(orderEvents.OrderCancelled, payload)).toBeUndefined();
  });

  it('packs the catalog change events under their full names', () => {
    const productChanged: productEvents.ProductChanged = {
      productId: 'prod_1',
      version: 3,
      kind: productEvents.ProductChangeKind.PRODUCT_CHANGE_KIND_UPDATED,
      categoryId: 'cat_1',
    };
    const categoryChanged: categoryEvents.CategoryChanged = {
      categoryId: 'cat_1',
      version: 7,
      kind: categoryEvents.CategoryChangeKind.CATEGORY_CHANGE_KIND_MOVED,
    };

    const packedProduct = packAny(productEvents.ProductChanged, productChanged);
    const packedCategory = packAny(categoryEvents.CategoryChanged, categoryChanged);

    expect(packedProduct.typeUrl).toBe('type.googleapis.com/shop.product.v1.ProductChanged');
    expect(packedCategory.typeUrl).toBe('type.googleapis.com/shop.category.v1.CategoryChanged');
    expect(unpackAny(productEvents.ProductChanged, packedProduct)).toEqual(productChanged);
    expect(unpackAny(categoryEvents.CategoryChanged, packedCategory)).toEqual(categoryChanged);
  });

  it('rejects an int64 beyond 2^53 instead of rounding it', () => {
    // Order.version (field 15, varint) = 2^56.
    const encoded = Buffer.from([0x78, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);

    expect(() => order.Order.decode(encoded)).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('descriptor set', () => {
  it('describes every service, with imports, for reflection and schema generation', () => {
    const definition = loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath));

    expect(definition['shop.product.v1.ProductService']).toHaveProperty('CreateProduct');
    expect(Object.keys(definition)).toEqual(
      expect.arrayContaining([
        'shop.category.v1.CategoryService',
        'shop.inventory.v1.InventoryService',
        'shop.user.v1.UserService',
        'shop.order.v1.OrderService',
        'shop.notification.v1.NotificationService',
        'shop.events.v1.EventEnvelope',
        'google.protobuf.Timestamp',
      ]),
    );
  });
});
