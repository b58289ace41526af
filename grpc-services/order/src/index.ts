/** Public surface of the order service. */
export { startOrderService } from './app';
export type { OrderServiceOverrides, RunningOrderService } from './app';
export { loadOrderConfig } from './config';
export type { OrderConfig, OrderTopics, PaymentProviderKind } from './config';
export {
  TEST_TOKENS,
  PaymentUnavailableError,
  createDeterministicPaymentProvider,
} from './payments';
export type {
  AuthorizeRequest,
  DeterministicPaymentProvider,
  PaymentOutcome,
  PaymentProvider,
} from './payments';
export { createStripePaymentProvider } from './stripe';
export { TRANSITIONS, checkTransition } from './state-machine';
