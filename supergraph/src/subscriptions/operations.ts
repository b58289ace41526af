// What a graphql-ws `subscribe` message asks for: its document parsed, validated and, for a
// subscription, rewritten into the query that re-reads its entity, once per distinct text.
import type { SubscriptionDeclaration } from '@shop/graphql/subscriptions';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  getOperationAST,
  parse,
  print,
  specifiedRules,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';

/** The variable a stream feed's query takes the event's entity id in. */
export const EVENT_ID_VARIABLE = '__shopEventEntityId';

/** A valid subscription: its root field, declaration and the query that re-reads its entity. */
export interface PreparedSubscription {
  readonly kind: 'subscribe';
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fieldName: string;
  readonly root: FieldNode;
  readonly fieldDef: GraphQLField<unknown, unknown>;
  readonly declaration: SubscriptionDeclaration;
  /** The query that re-reads the entity, and its printed text (part of the feed's key). */
  readonly query: DocumentNode;
  readonly queryText: string;
}

/** A valid operation, shared by every `subscribe` message with the same text and name. */
export type PreparedOperation =
  | {
      readonly kind: 'execute';
      readonly document: DocumentNode;
      readonly operation: OperationDefinitionNode;
    }
  | PreparedSubscription;

export const clientError = (
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
) => new GraphQLError(message, { extensions: { ...extensions, code } });

/**
 * Parses, validates and rewrites operations, remembering the last `size` valid ones: clients send
 * the same few documents, so thousands of subscribers share one parsed document and one rewritten
 * query instead of holding a copy each (with its tokens and locations).
 */
export class OperationCache {
  private readonly entries = new Map<string, PreparedOperation>();
  private schema: GraphQLSchema | undefined;

  constructor(
    private readonly size: number,
    private readonly rules: readonly ValidationRule[],
    /** The declared Subscription fields, by field name. */
    private readonly declarations: ReadonlyMap<string, SubscriptionDeclaration>,
  ) {}

  prepare(
    schema: GraphQLSchema,
    query: string,
    operationName: string | null | undefined,
  ): PreparedOperation | GraphQLError[] {
    if (schema !== this.schema) {
      this.entries.clear();
      this.schema = schema;
    }
    const key = `${operationName ?? ''}\n${query}`;
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      // Most recently used last, so the oldest entry is the first one to go.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const prepared = prepareOperation(schema, query, operationName, this.rules, this.declarations);
    if (Array.isArray(prepared)) return prepared;
    this.entries.set(key, prepared);
    if (this.entries.size > this.size) {
      for (const oldest of this.entries.keys()) {
        this.entries.delete(oldest);
        break;
      }
    }
    return prepared;
  }
}

function prepareOperation(
  schema: GraphQLSchema,
  query: string,
  operationName: string | null | undefined,
  rules: readonly ValidationRule[],
  declarations: ReadonlyMap<string, SubscriptionDeclaration>,
): PreparedOperation | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: 50_000 });
  } catch (err) {
    return [clientError('GRAPHQL_PARSE_FAILED', (err as Error).message)];
  }
  const invalid = validate(schema, document, [...specifiedRules, ...rules]);
  if (invalid.length > 0) {
    return invalid.map((e) => {
      const code = e.extensions?.limitCode ?? 'GRAPHQL_VALIDATION_FAILED';
      return new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code } });
    });
  }
  const operation = getOperationAST(document, operationName);
  if (!operation) return [clientError('BAD_REQUEST', 'Unable to identify the operation')];
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
    return { kind: 'execute', document, operation };
  }
  const root = operation.selectionSet.selections[0];
  const fieldName = root?.kind === Kind.FIELD ? root.name.value : undefined;
  const declaration = fieldName === undefined ? undefined : declarations.get(fieldName);
  const fieldDef =
    fieldName === undefined ? undefined : schema.getSubscriptionType()?.getFields()[fieldName];
  if (
    root?.kind !== Kind.FIELD ||
    fieldName === undefined ||
    declaration === undefined ||
    fieldDef === undefined
  ) {
    return [clientError('BAD_REQUEST', 'Select one subscription field directly at the root')];
  }
  const rewritten = rewrite(document, operation, root, declaration);
  return {
    kind: 'subscribe',
    document,
    operation,
    fieldName,
    root,
    fieldDef,
    declaration,
    query: rewritten,
    queryText: print(rewritten),
  };
}

/** Rewrites the subscription into the query that re-reads its entity. */
function rewrite(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  field: FieldNode,
  declaration: SubscriptionDeclaration,
): DocumentNode {
  const renames = declaration.query.args ?? {};
  const args = (field.arguments ?? []).map((arg) => ({
    ...arg,
    name: { kind: Kind.NAME as const, value: renames[arg.name.value] ?? arg.name.value },
  }));
  const variableDefinitions = [...(operation.variableDefinitions ?? [])];
  if (declaration.mode === 'stream') {
    args.push({
      kind: Kind.ARGUMENT,
      name: { kind: Kind.NAME as const, value: 'id' },
      value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
    });
    variableDefinitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
      type: {
        kind: Kind.NON_NULL_TYPE,
        type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } },
      },
    });
  }
  const query: OperationDefinitionNode = {
    ...operation,
    operation: OperationTypeNode.QUERY,
    variableDefinitions,
    selectionSet: {
      kind: Kind.SELECTION_SET,
      selections: [
        {
          ...field,
          alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
          name: { kind: Kind.NAME, value: declaration.query.field },
          arguments: args,
        },
      ],
    },
  };
  return {
    kind: Kind.DOCUMENT,
    definitions: [
      query,
      ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION),
    ],
  };
}
