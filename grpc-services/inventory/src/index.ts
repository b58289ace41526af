/** Public surface of the inventory service. */
export { startInventoryService } from './app';
export type { InventoryOverrides, RunningInventoryService } from './app';
export { loadInventoryConfig } from './config';
export type { InventoryConfig } from './config';
export { inventoryErrors } from './errors';
export { inventoryPolicy } from './policy';
