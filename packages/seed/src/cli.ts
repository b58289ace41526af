#!/usr/bin/env node
// `npm run seed -w @shop/seed`: seeds the demo catalog into running services, idempotently.
import { createLogger, createServiceCaller } from '@shop/platform';
import { loadSeedConfig } from './config';
import { seedDemoCatalog } from './seed';

const config = loadSeedConfig(process.env);
const logger = createLogger({ service: 'demo-seed', level: config.logLevel });
seedDemoCatalog({
  ...config,
  logger,
  caller: createServiceCaller(config.auth, config.serviceAccount, 'demo-seed'),
}).then(
  (summary) => {
    process.stdout.write(
      `demo catalog: ${summary.categoriesCreated} categories created (${summary.categoriesFound} already there), ` +
        `${summary.productsCreated} products created (${summary.productsFound} already there), ` +
        `stock set for ${summary.stockSet}, skipped for ${summary.stockSkipped}\n`,
    );
  },
  (err: unknown) => {
    logger.fatal({ err }, 'seeding failed');
    process.exitCode = 1;
  },
);
