import { composeServices } from '@apollo/composition';
import { diff, CriticalityLevel, type Change } from '@graphql-inspector/core';
import { buildSchema, lexicographicSortSchema, parse, printSchema } from 'graphql';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** One subgraph as listed in supergraph.yaml. */
export interface SubgraphEntry {
  readonly name: string;
  readonly routingUrl: string;
  /** Absolute path of the subgraph's SDL file. */
  readonly schemaFile: string;
}

/** supergraph.yaml in rover's format. */
export interface SupergraphConfig {
  readonly federationVersion: string;
  readonly subgraphs: readonly SubgraphEntry[];
}

interface RawConfig {
  federation_version?: unknown;
  subgraphs?: Record<string, { routing_url?: unknown; schema?: { file?: unknown } }>;
}

/** Reads rover's supergraph.yaml; subgraph schemas must be local files (offline composition). */
export function readSupergraphConfig(file: string): SupergraphConfig {
  const raw = parseYaml(readFileSync(file, 'utf8')) as RawConfig;
  const base = path.dirname(file);
  const problems: string[] = [];
  if (typeof raw.federation_version !== 'string') problems.push('federation_version is missing');
  const subgraphs = Object.entries(raw.subgraphs ?? {}).map(([name, entry]) => {
    if (typeof entry.routing_url !== 'string') problems.push(`${name}.routing_url is missing`);
    if (typeof entry.schema?.file !== 'string') problems.push(`${name}.schema.file is missing`);
    return {
      name,
      routingUrl: String(entry.routing_url),
      schemaFile: path.resolve(base, String(entry.schema?.file)),
    };
  });
  if (subgraphs.length === 0) problems.push('no subgraphs');
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return { federationVersion: String(raw.federation_version), subgraphs };
}

/** A successful composition. */
export interface Composition {
  /** The supergraph SDL the gateway serves. */
  readonly supergraphSdl: string;
  /** The public API schema (what clients see), sorted for stable diffs. */
  readonly apiSchemaSdl: string;
  readonly hints: readonly string[];
}

/** Thrown when the subgraphs do not compose; lists every composition error. */
export class CompositionError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`Composition failed:\n  - ${errors.join('\n  - ')}`);
    this.name = 'CompositionError';
  }
}

/** Composes the subgraphs of a config offline with @apollo/composition (rover's engine). */
export function compose(config: SupergraphConfig): Composition {
  const result = composeServices(
    config.subgraphs.map((s) => ({
      name: s.name,
      url: s.routingUrl,
      typeDefs: parse(readFileSync(s.schemaFile, 'utf8')),
    })),
  );
  if (result.errors !== undefined) {
    throw new CompositionError(result.errors.map((e) => e.message));
  }
  const api = result.schema.toAPISchema().toGraphQLJSSchema();
  return {
    supergraphSdl: result.supergraphSdl,
    apiSchemaSdl: printSchema(lexicographicSortSchema(api)) + '\n',
    hints: result.hints.map((h) => h.toString()),
  };
}

/** One acknowledged breaking change in rover/breaking-changes-ack.json. */
export interface BreakingChangeAck {
  /** graphql-inspector change type, e.g. FIELD_REMOVED. */
  readonly type: string;
  /** Schema coordinate, e.g. Product.sku. */
  readonly path: string;
  /** Why it is acceptable (who was told, which clients were updated). */
  readonly reason: string;
}

/** How the API schema changed against the baseline. */
export interface SchemaDiff {
  readonly breaking: readonly Change[];
  readonly acknowledged: readonly Change[];
  readonly safe: readonly Change[];
}

/** Diffs the API schema against the committed baseline and sorts out acknowledged changes. */
export async function diffApiSchema(
  baselineSdl: string,
  apiSchemaSdl: string,
  acks: readonly BreakingChangeAck[],
): Promise<SchemaDiff> {
  const changes = await diff(buildSchema(baselineSdl), buildSchema(apiSchemaSdl));
  const isAcked = (c: Change): boolean =>
    acks.some((a) => a.type === c.type && a.path === (c.path ?? ''));
  const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  return {
    breaking: breaking.filter((c) => !isAcked(c)),
    acknowledged: breaking.filter(isAcked),
    safe: changes.filter((c) => c.criticality.level !== CriticalityLevel.Breaking),
  };
}

/** Reads the acknowledgement file; none means nothing acknowledged. */
export function readAcks(file: string): BreakingChangeAck[] {
  if (!existsSync(file)) return [];
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { acknowledged?: BreakingChangeAck[] };
  return raw.acknowledged ?? [];
}
