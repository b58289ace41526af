import { ADMIN_ROLE, anyone, role, roleOrService, type Policy } from '@shop/platform';
import type { inventory } from '@shop/proto';

/**
 * The one place that says who may call each InventoryService RPC: stock levels are public on
 * the storefront; adjustments and the ledger are operators'; initial stock is also set by our
 * own services (product creation).
 */
export const inventoryPolicy: Policy<inventory.InventoryServiceService> = {
  getStock: anyone,
  batchGetStock: anyone,
  adjustStock: role(ADMIN_ROLE),
  setInitialStock: roleOrService(ADMIN_ROLE),
  listMovements: role(ADMIN_ROLE),
};
