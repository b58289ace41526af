/**
 * The order service as `bench/order-pipeline.ts` runs it: its own process, started like
 * `grpc-services/order/src/main.ts` (runProcess, config from the environment), with one
 * difference: the payment provider. stripe-mock is stateless and answers every PaymentIntent
 * with the canned status `requires_payment_method`, which the Stripe adapter rightly reads as a
 * decline; here that one canned status counts as an approval, so the adapter's real HTTP round
 * trips stay in the measurement. Each capture's end is appended to BENCH_PAYMENT_TIMES
 * (`<order id> <authorize start ms> <capture end ms>` per line), the bench's reserved → paid →
 * CONFIRMED split.
 */
import type * as OrderService from '@shop/order-service';
import { loadOrderConfig } from '@shop/order-service';
import { runProcess } from '@shop/platform/main';
import { createWriteStream } from 'node:fs';
import { approveCannedIntents, timed, type PaymentTimes } from './order-payments';

function recordTo(file: string | undefined): (orderId: string, times: PaymentTimes) => void {
  if (!file) return () => undefined;
  const out = createWriteStream(file, { flags: 'a' });
  return (orderId, t) => void out.write(`${orderId} ${t.authorizeStart ?? 0} ${t.captureEnd}\n`);
}

const config = loadOrderConfig(process.env);
runProcess('order service (bench)', config, () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const order = require('@shop/order-service') as typeof OrderService;
  const provider =
    config.payments.provider === 'fake'
      ? order.createDeterministicPaymentProvider({ timeoutMs: config.payments.timeoutMs })
      : approveCannedIntents(
          order.createStripePaymentProvider({
            apiKey: config.payments.stripeApiKey,
            apiBase: config.payments.stripeApiBase,
            timeoutMs: config.payments.timeoutMs,
          }),
        );
  const payments = timed(provider, recordTo(process.env['BENCH_PAYMENT_TIMES']));
  return (cfg, deps) => order.startOrderService(cfg, { logger: deps.logger, payments });
});
