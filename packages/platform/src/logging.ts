/** `@shop/platform/logging`: the ECS JSON logger and the shipper to the log store. */
export { createLogger, redact } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { createLogShipper, shipLogs } from './log-shipper';
export type { LogShipper, LogShipperOptions, LogShipperStats } from './log-shipper';
