import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

const badInput = (message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

function toDate(value: unknown): Date {
  const date =
    value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw badInput('DateTime must be an RFC 3339 date-time string');
  }
  return date;
}

/** RFC 3339 instants; proto `google.protobuf.Timestamp` (a `Date` in ts-proto code). */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant in time, as an RFC 3339 string in UTC.',
  serialize: (value) => toDate(value).toISOString(),
  parseValue: (value) => toDate(value),
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.STRING) throw badInput('DateTime must be a string');
    return toDate(ast.value);
  },
});

function toLong(value: unknown): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'bigint'
        ? Number(value)
        : typeof value === 'string' && /^-?\d+$/.test(value)
          ? Number(value)
          : NaN;
  if (!Number.isSafeInteger(n)) {
    throw badInput('Long must be an integer between -(2^53 - 1) and 2^53 - 1');
  }
  return n;
}

/**
 * Protobuf 64-bit integers as JSON numbers. Exact in the safe-integer range (which ts-proto's
 * `forceLong=number` also guarantees); a value outside it is an error, never rounded.
 */
export const LongScalar = new GraphQLScalarType<number, number>({
  name: 'Long',
  description: 'A 64-bit integer as a JSON number, exact up to 2^53 - 1; larger values are errors.',
  serialize: toLong,
  parseValue: toLong,
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.INT) throw badInput('Long must be an integer literal');
    return toLong(ast.value);
  },
});

/** Resolvers for every scalar the generator emits. */
export const scalarResolvers = { DateTime: DateTimeScalar, Long: LongScalar };
