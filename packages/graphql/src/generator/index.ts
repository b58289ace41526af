/** The proto → GraphQL SDL generator (the Rejoiner step of the seed). */
export { loadProtoCatalog } from './descriptors';
export type { ProtoCatalog } from './descriptors';
export { enumValueName, generate } from './generate';
export type { GeneratedFiles, GeneratorConfig, InputConfig } from './generate';
export { runGenerator } from './run';
export type { GeneratorRun } from './run';
