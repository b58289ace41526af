/** The idempotent demo catalog seed. */
export { seedDemoCatalog } from './seed';
export type { SeedOptions, SeedSummary } from './seed';
export { loadSeedConfig } from './config';
export type { SeedConfig } from './config';
export { demoCatalog } from './demo-data';
export type { DemoCategory, DemoProduct } from './demo-data';
