import {
  commonErrors,
  createGrpcServer,
  type AsyncServiceImplementation,
  type GrpcServer,
} from '@shop/platform';
import { inventory, product } from '@shop/proto';
import { demoCatalog, seedDemoCatalog } from '@shop/seed';
import { freePort, quietLogger } from '@shop/testing';
import { startCatalog, type Catalog } from '@shop/testing/stack';

let catalog: Catalog;
let productAddress: string;
let categoryAddress: string;

beforeAll(async () => {
  catalog = await startCatalog('seed');
  productAddress = catalog.productAddress;
  categoryAddress = catalog.categoryAddress;
}, 120_000);

afterAll(async () => {
  await catalog.stop();
});

/** A stand-in inventory service speaking the real contract, recording SetInitialStock. */
async function fakeInventory(): Promise<{
  server: GrpcServer;
  port: number;
  stock: Map<string, number>;
}> {
  const stock = new Map<string, number>();
  const unimplemented = () => Promise.reject(commonErrors.INTERNAL());
  const impl: AsyncServiceImplementation<inventory.InventoryServiceService> = {
    getStock: unimplemented,
    batchGetStock: unimplemented,
    adjustStock: unimplemented,
    listMovements: unimplemented,
    setInitialStock(req) {
      stock.set(req.productId, req.onHand);
      return Promise.resolve({
        stock: {
          productId: req.productId,
          onHand: req.onHand,
          reserved: 0,
          available: req.onHand,
          version: 1,
        },
      });
    },
  };
  const server = createGrpcServer({ logger: quietLogger });
  server.addService('shop.inventory.v1.InventoryService', inventory.InventoryServiceService, impl);
  return { server, port: await server.listen('127.0.0.1', 0), stock };
}

const allProducts = async (): Promise<product.Product[]> => {
  const out: product.Product[] = [];
  let pageToken = '';
  do {
    const res = await catalog.products.listProducts(
      product.ListProductsRequest.fromPartial({ page: { pageSize: 100, pageToken } }),
    );
    out.push(...res.products);
    pageToken = res.page!.nextPageToken;
  } while (pageToken !== '');
  return out;
};

describe('seedDemoCatalog', () => {
  it('seeds a three-level tree with 50+ priced products, skipping stock when inventory is down', async () => {
    const summary = await seedDemoCatalog({
      productAddress,
      categoryAddress,
      inventoryAddress: `127.0.0.1:${await freePort()}`,
      logger: quietLogger,
      deadlineMs: 2_000,
    });
    expect(summary.productsCreated).toBeGreaterThanOrEqual(50);
    expect(summary).toMatchObject({
      productsFound: 0,
      stockSet: 0,
      stockSkipped: summary.productsCreated,
    });

    const products = await allProducts();
    expect(products).toHaveLength(summary.productsCreated);
    expect(products.every((p) => p.price!.currency === 'EUR' && p.price!.amount > 0)).toBe(true);
    const { categories: roots } = await catalog.categories.listRootCategories({});
    expect(roots.map((r) => r.name)).toEqual(demoCatalog.map((c) => c.name));
    const depths = (
      await catalog.categories.batchGetCategories({
        ids: [...new Set(products.map((p) => p.categoryId))],
      })
    ).categories.map((c) => c.depth);
    expect(Math.max(...depths)).toBeGreaterThanOrEqual(2);
  });

  it('is idempotent, and fills in stock once inventory answers', async () => {
    const inv = await fakeInventory();
    try {
      const summary = await seedDemoCatalog({
        productAddress,
        categoryAddress,
        inventoryAddress: `127.0.0.1:${inv.port}`,
        logger: quietLogger,
      });
      expect(summary).toMatchObject({ categoriesCreated: 0, productsCreated: 0, stockSkipped: 0 });
      expect(summary.stockSet).toBe(summary.productsFound);
      const products = await allProducts();
      expect(products).toHaveLength(summary.productsFound);
      expect([...inv.stock.keys()].sort()).toEqual(products.map((p) => p.id).sort());
      expect(inv.stock.get(products.find((p) => p.sku === 'DEMO-PHN-001')!.id)).toBe(25);
    } finally {
      await inv.server.shutdown(1_000);
    }
  });
});
