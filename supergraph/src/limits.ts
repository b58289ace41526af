import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';

/** Limits on the shape of one operation. */
export interface QueryLimits {
  /** Deepest field nesting (introspection's own nesting is not counted). */
  maxDepth: number;
  /** Aliased fields in one document. */
  maxAliases: number;
  /** Estimated cost: one per field, multiplied by the `first` of enclosing list fields. */
  maxCost: number;
  /** `first` assumed when it is a variable or missing on a paged field. */
  defaultPageSize: number;
}

/** The `extensions.code` of each limit; the gateway restores it over Apollo's generic code. */
export const LIMIT_CODES = {
  depth: 'QUERY_TOO_DEEP',
  aliases: 'TOO_MANY_ALIASES',
  cost: 'QUERY_TOO_COMPLEX',
} as const;

const limitError = (code: string, message: string, max: number): GraphQLError =>
  new GraphQLError(message, { extensions: { limitCode: code, limit: max } });

interface Walk {
  depth: number;
  aliases: number;
  cost: number;
}

const pageSizeOf = (field: FieldNode, fallback: number): number => {
  const arg = field.arguments?.find((a) => a.name.value === 'first');
  if (arg === undefined) return 1;
  const value: ValueNode = arg.value;
  return value.kind === Kind.INT ? Math.max(1, Number(value.value)) : fallback;
};

/**
 * One validation rule enforcing every limit in a single pass per operation. Fragments are
 * followed once per path and cycles are cut (NoFragmentCyclesRule reports them).
 */
export function queryLimitsRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    let aliasesInDocument = 0;
    const walk = (
      set: SelectionSetNode,
      depth: number,
      multiplier: number,
      seen: ReadonlySet<string>,
      out: Walk,
    ): void => {
      // Stop early: a hostile document must not cost more than the limit to reject.
      if (out.depth > limits.maxDepth || out.cost > limits.maxCost) return;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.alias) out.aliases++;
          if (selection.name.value.startsWith('__')) continue;
          out.cost += multiplier;
          out.depth = Math.max(out.depth, depth);
          if (selection.selectionSet) {
            const factor = pageSizeOf(selection, limits.defaultPageSize);
            walk(selection.selectionSet, depth + 1, multiplier * factor, seen, out);
          }
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          walk(selection.selectionSet, depth, multiplier, seen, out);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (fragment === undefined || seen.has(name)) continue;
          walk(fragment.selectionSet, depth, multiplier, new Set([...seen, name]), out);
        }
      }
    };
    return {
      Field(node) {
        if (node.alias) aliasesInDocument++;
      },
      OperationDefinition: {
        leave(node) {
          const out: Walk = { depth: 0, aliases: 0, cost: 0 };
          walk(node.selectionSet, 1, 1, new Set(), out);
          if (out.depth > limits.maxDepth) {
            context.reportError(
              limitError(
                LIMIT_CODES.depth,
                `Query is nested deeper than the limit of ${limits.maxDepth} levels`,
                limits.maxDepth,
              ),
            );
          } else if (out.cost > limits.maxCost) {
            context.reportError(
              limitError(
                LIMIT_CODES.cost,
                `Query is estimated to cost more than the limit of ${limits.maxCost}; ask for fewer items or fields`,
                limits.maxCost,
              ),
            );
          }
        },
      },
      Document: {
        leave() {
          if (aliasesInDocument > limits.maxAliases) {
            context.reportError(
              limitError(
                LIMIT_CODES.aliases,
                `Query uses ${aliasesInDocument} aliases; the limit is ${limits.maxAliases}`,
                limits.maxAliases,
              ),
            );
          }
        },
      },
    };
  };
}
