import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  parse,
  print,
  type DefinitionNode,
  type DocumentNode,
  type ValidationRule,
} from 'graphql';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * One entry of a persisted-operations (trusted documents) manifest, in Apollo's
 * `apollo-persisted-query-manifest` format: what a client build may send.
 */
export interface PersistedOperation {
  /** {@link operationId} of `body`. */
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

/** A client's manifest (the storefront's is `storefront/src/generated/persisted-operations.json`). */
export interface PersistedOperationManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: PersistedOperation[];
}

/** The `extensions.code` of an operation refused in persisted-only mode. */
export const NOT_IN_MANIFEST = 'QUERY_NOT_IN_SAFELIST';

const rank = (d: DefinitionNode): string =>
  d.kind === Kind.OPERATION_DEFINITION
    ? `0 ${d.name?.value ?? ''}`
    : d.kind === Kind.FRAGMENT_DEFINITION
      ? `1 ${d.name.value}`
      : `2 ${d.kind}`;

/**
 * The id of an executable document: SHA-256 of its printed definitions, operations first and
 * fragments by name, so whitespace, comments and the order fragments are appended in do not
 * matter. The manifest generator (`storefront/scripts/persisted-operations.mjs`) computes the same.
 */
export function operationId(document: DocumentNode): string {
  const definitions = [...document.definitions].sort((a, b) => rank(a).localeCompare(rank(b)));
  const text = definitions.map((d) => print(d)).join('\n');
  return createHash('sha256').update(text).digest('hex');
}

/** Reads manifests and returns the ids they allow; each body is re-hashed, not trusted. */
export function loadPersistedOperations(paths: readonly string[]): ReadonlySet<string> {
  const ids = new Set<string>();
  for (const file of paths) {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as PersistedOperationManifest;
    if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1) {
      throw new Error(`${file} is not an apollo-persisted-query-manifest of version 1`);
    }
    for (const op of manifest.operations) {
      const id = operationId(parse(op.body));
      if (id !== op.id) throw new Error(`${file}: operation ${op.name} has id ${op.id}, not ${id}`);
      ids.add(id);
    }
  }
  return ids;
}

const notInManifest = (): GraphQLError =>
  new GraphQLError('This endpoint only runs the registered operations of its clients', {
    // `limitCode` is how the gateway's error formatting keeps a validation-stage code.
    extensions: { code: NOT_IN_MANIFEST, limitCode: NOT_IN_MANIFEST, http: { status: 400 } },
  });

/**
 * Persisted-only mode for HTTP: a document whose id is not in a registered manifest is refused
 * with {@link NOT_IN_MANIFEST}. Apollo reuses one parsed document per query text, so each text is
 * hashed once. Requests without HTTP are the gateway's own (subscriptions re-reading their
 * entity with a query derived from an operation already checked on the socket) and pass.
 */
export function persistedOnlyPlugin<T extends BaseContext>(
  allowed: ReadonlySet<string>,
): ApolloServerPlugin<T> {
  const checked = new WeakMap<DocumentNode, boolean>();
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: ({ request, document }) => {
          if (request.http === undefined) return Promise.resolve();
          let ok = checked.get(document);
          if (ok === undefined) {
            ok = allowed.has(operationId(document));
            checked.set(document, ok);
          }
          if (!ok) throw notInManifest();
          return Promise.resolve();
        },
      }),
  };
}

/** The same check for graphql-ws, as a validation rule of the subscription server. */
export function persistedOnlyRule(allowed: ReadonlySet<string>): ValidationRule {
  return (context) => {
    if (!allowed.has(operationId(context.getDocument()))) context.reportError(notInManifest());
    return {};
  };
}
