import type { Dependency, DependencyName } from '../types';
import { alertmanager } from './alertmanager';
import { jaeger } from './jaeger';
import { kafka } from './kafka';
import { keycloak } from './keycloak';
import { mailpit } from './mailpit';
import { mongo } from './mongo';
import { opensearch } from './opensearch';
import { prometheus } from './prometheus';
import { stripe } from './stripe';

/** Every managed dependency by name. */
export const DEPENDENCIES: Readonly<Record<DependencyName, Dependency>> = {
  mongo,
  kafka,
  keycloak,
  mailpit,
  stripe,
  prometheus,
  alertmanager,
  jaeger,
  opensearch,
};
