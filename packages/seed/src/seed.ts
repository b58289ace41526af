import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  createGrpcClient,
  identityMetadata,
  isDownstreamUnavailable,
  type Caller,
  type Logger,
  type ServiceCaller,
} from '@shop/platform';
import { category, inventory, product } from '@shop/proto';
import { demoCatalog, type DemoCategory, type DemoProduct } from './demo-data';

/** Where the services are, and where to log. */
export interface SeedOptions {
  productAddress: string;
  categoryAddress: string;
  inventoryAddress: string;
  logger: Logger;
  /** The tree to seed; the demo catalog by default. */
  catalog?: readonly DemoCategory[];
  /** Deadline of each call. */
  deadlineMs?: number;
  /**
   * Who the seed is to the services: the service account's token in a real deployment
   * (`createServiceCaller`); by default a service identity in the headers, for tests.
   */
  caller?: ServiceCaller;
}

/** What a seeding run did. A second run over the same data creates nothing. */
export interface SeedSummary {
  categoriesCreated: number;
  categoriesFound: number;
  productsCreated: number;
  productsFound: number;
  stockSet: number;
  /** Products whose stock was not set because the inventory service was unreachable. */
  stockSkipped: number;
}

/** The seed acts as a service identity (services let service accounts write the catalog). */
const SEED_CALLER: Caller = { kind: 'service', subject: 'demo-seed', roles: ['service'] };

const codeOf = (err: unknown): number | undefined => (err as Partial<ServiceError>).code;
/** The inventory service cannot take stock now (down, slow, or not serving that RPC yet). */
const unreachable = (err: unknown): boolean =>
  isDownstreamUnavailable(err) || codeOf(err) === status.UNIMPLEMENTED;

/**
 * Creates the demo catalog through the services' gRPC contracts, idempotently: categories are
 * found by slug under their parent, products by their stable SKU, and SetInitialStock repeats
 * as a no-op. When the inventory service cannot be reached, stock is skipped with a warning and
 * the rest still seeds; a later run fills it in.
 */
export async function seedDemoCatalog(options: SeedOptions): Promise<SeedSummary> {
  const { logger } = options;
  const clientOptions = { deadlineMs: options.deadlineMs ?? 5_000, maxAttempts: 5 };
  const products = createGrpcClient(
    'shop.product.v1.ProductService',
    product.ProductServiceService,
    options.productAddress,
    clientOptions,
  );
  const categories = createGrpcClient(
    'shop.category.v1.CategoryService',
    category.CategoryServiceService,
    options.categoryAddress,
    clientOptions,
  );
  const stock = createGrpcClient(
    'shop.inventory.v1.InventoryService',
    inventory.InventoryServiceService,
    options.inventoryAddress,
    { ...clientOptions, deadlineMs: Math.min(clientOptions.deadlineMs, 3_000), maxAttempts: 2 },
  );
  const summary: SeedSummary = {
    categoriesCreated: 0,
    categoriesFound: 0,
    productsCreated: 0,
    productsFound: 0,
    stockSet: 0,
    stockSkipped: 0,
  };
  const self = options.caller ? await options.caller() : SEED_CALLER;
  const call = () => ({ metadata: identityMetadata(self, new Metadata()) });
  let inventoryReachable = true;

  const ensureCategory = async (node: DemoCategory, parentId: string): Promise<string> => {
    const find = async () => {
      const siblings =
        parentId === ''
          ? await categories.listRootCategories({}, call())
          : await categories.listChildren({ parentId }, call());
      return siblings.categories.find((c) => c.name === node.name);
    };
    const existing = await find();
    if (existing) {
      summary.categoriesFound += 1;
      return existing.id;
    }
    try {
      const { category: created } = await categories.createCategory(
        { name: node.name, slug: '', parentId },
        call(),
      );
      summary.categoriesCreated += 1;
      return created!.id;
    } catch (err) {
      // Lost a race with another seeder: take theirs.
      const raced = codeOf(err) === status.ALREADY_EXISTS ? await find() : undefined;
      if (!raced) throw err;
      summary.categoriesFound += 1;
      return raced.id;
    }
  };

  const ensureProduct = async (item: DemoProduct, categoryId: string): Promise<string> => {
    const find = async () =>
      (
        await products.listProducts(
          product.ListProductsRequest.fromPartial({
            filter: { sku: item.sku, includeDeleted: true },
            page: { pageSize: 1 },
          }),
          call(),
        )
      ).products[0];
    const existing = await find();
    if (existing) {
      summary.productsFound += 1;
      return existing.id;
    }
    const request = product.CreateProductRequest.fromPartial({
      sku: item.sku,
      name: item.name,
      description: item.description,
      price: { amount: item.priceCents, currency: 'EUR' },
      categoryId,
      images: [
        {
          url: `https://images.shop.local/demo/${item.sku.toLowerCase()}.jpg`,
          altText: item.name,
        },
      ],
      attributes: Object.entries(item.attributes ?? {}).map(([name, value]) => ({ name, value })),
    });
    try {
      const { product: created } = await products.createProduct(request, call());
      summary.productsCreated += 1;
      return created!.id;
    } catch (err) {
      const raced = codeOf(err) === status.ALREADY_EXISTS ? await find() : undefined;
      if (!raced) throw err;
      summary.productsFound += 1;
      return raced.id;
    }
  };

  const ensureStock = async (item: DemoProduct, productId: string): Promise<void> => {
    if (!inventoryReachable) {
      summary.stockSkipped += 1;
      return;
    }
    try {
      await stock.setInitialStock({ productId, onHand: item.stock }, call());
      summary.stockSet += 1;
    } catch (err) {
      const code = codeOf(err);
      if (code === status.ALREADY_EXISTS) {
        // Stock was set before (and maybe adjusted since): leave it alone.
        summary.stockSet += 1;
      } else if (code !== undefined && unreachable(err)) {
        inventoryReachable = false;
        summary.stockSkipped += 1;
        logger.warn(
          { inventory: options.inventoryAddress, code: status[code] },
          'inventory service unreachable: skipping initial stock (re-run the seed to fill it in)',
        );
      } else {
        throw err;
      }
    }
  };

  const walk = async (nodes: readonly DemoCategory[], parentId: string): Promise<void> => {
    for (const node of nodes) {
      const id = await ensureCategory(node, parentId);
      for (const item of node.products ?? []) {
        await ensureStock(item, await ensureProduct(item, id));
      }
      await walk(node.children ?? [], id);
    }
  };

  try {
    await walk(options.catalog ?? demoCatalog, '');
  } finally {
    products.close();
    categories.close();
    stock.close();
  }
  logger.info(summary, 'demo catalog seeded');
  return summary;
}
