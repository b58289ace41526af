import {
  parsers,
  readBaseServiceConfig,
  readConfig,
  type BaseServiceConfig,
} from '@shop/platform/config';
import { servicePorts } from '@shop/platform/topology';

/** Everything the user service reads from its environment. */
export interface UserConfig extends BaseServiceConfig {
  mongoUrl: string;
  mongoDatabase: string;
  /** Enforce the access policy (policy.ts); off until the auth issue lands. */
  enforcePolicy: boolean;
}

/** Parses the user service's configuration once, failing fast on every problem. */
export function loadUserConfig(env: Readonly<Record<string, string | undefined>>): UserConfig {
  return readConfig(env, (e) => ({
    ...readBaseServiceConfig(e, { serviceName: 'user', ...servicePorts('user') }),
    mongoUrl: e.required('MONGO_URL', parsers.string),
    mongoDatabase: e.optional('MONGO_DATABASE', parsers.string, 'shop_user'),
    enforcePolicy: e.optional('ENFORCE_POLICY', parsers.bool, true),
  }));
}
