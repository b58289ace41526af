/**
 * Local launcher for the platform's real dependencies. Installs them into `<repo>/.infra` on first
 * use, runs them detached on 127.0.0.1 and hands back connection details; connection variables
 * (MONGO_URL, KAFKA_BROKERS, OIDC_ISSUER_URL, SMTP_URL, STRIPE_API_BASE, PROMETHEUS_URL,
 * ALERTMANAGER_URL, ...) replace a dependency with one the user runs.
 */
export { ensureInfra, infraStatus, stopInfra, type DependencyStatus } from './launcher';
export { startPlatform, type PlatformOptions, type RunningPlatform } from './platform';
export {
  GATEWAY,
  LOCAL_DEFAULTS,
  sharedEnv,
  type PlatformProcess,
  type RunningProcess,
} from './services';
export type { DependencyName, InfraEndpoints, InfraOptions } from './types';
export { ensureChromium, findChromium } from './chromium';
export { ensureStorefrontBuilt } from './storefront';
