/** Public surface of the user service. */
export { startUserService } from './app';
export type { UserOverrides } from './app';
export { loadUserConfig } from './config';
export type { UserConfig } from './config';
export { userErrors } from './errors';
export { userPolicy } from './policy';
