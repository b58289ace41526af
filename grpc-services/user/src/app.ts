import {
  connectMongo,
  createLogger,
  createMetrics,
  ensureIndexes,
  startService,
  startWithRollback,
  type Logger,
  type RunningService,
  withPolicy,
} from '@shop/platform';
import { user } from '@shop/proto';
import type { UserConfig } from './config';
import { createKeycloakIdentityProvider, type IdentityProvider } from './identity-provider';
import { userPolicy } from './policy';
import { createUserService } from './service';
import { createUserStore, userIndexes } from './store';

/** Replaceable parts, for tests and embedding. */
export interface UserOverrides {
  logger?: Logger;
  clock?: () => Date;
  identityProvider?: IdentityProvider;
}

/** Wires the store and the gRPC server of the user service. */
export function startUserService(
  config: UserConfig,
  overrides: UserOverrides = {},
): Promise<RunningService> {
  const logger =
    overrides.logger ?? createLogger({ service: config.serviceName, level: config.logLevel });
  const metrics = createMetrics({ service: config.serviceName });
  return startWithRollback(logger, async (opened) => {
    const mongo = opened.add(
      await connectMongo({ url: config.mongoUrl, database: config.mongoDatabase, logger }),
      (m) => m.close(),
    );
    await ensureIndexes(mongo.db, userIndexes);
    const store = createUserStore(mongo.db);
    return startService({
      config,
      logger,
      registry: metrics.registry,
      interceptors: [metrics.grpcServerInterceptor],
      register: (server) =>
        server.addService(
          'shop.user.v1.UserService',
          user.UserServiceService,
          withPolicy(
            createUserService({
              store,
              identityProvider:
                overrides.identityProvider ?? createKeycloakIdentityProvider(config.serviceAccount),
              ...(overrides.clock ? { clock: overrides.clock } : {}),
            }),
            userPolicy,
            config.enforcePolicy,
          ),
        ),
      onStop: [() => opened.releaseAll()],
    });
  });
}
