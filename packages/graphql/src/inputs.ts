/** One field of a generated input type: the proto field it maps to. */
export interface InputField {
  /** The ts-proto property name (camelCase of the proto name). */
  readonly local: string;
  /** The proto field name, as services name fields in google.rpc.BadRequest violations. */
  readonly proto: string;
  /** The input type of a nested message field. */
  readonly input?: string;
}

/** Every generated input type's fields (`inputShapes` in `generated/proto-resolvers.ts`). */
export type InputShapes = Readonly<Record<string, Readonly<Record<string, InputField>>>>;

/**
 * A GraphQL input value as the proto request's fields (ts-proto names): renamed fields get their
 * proto name back, nested inputs are mapped the same way, and `null` (GraphQL's "not given")
 * fields are left out, so `fromPartial` applies the proto defaults.
 */
export function fromGraphQLInput<T extends object = Record<string, unknown>>(
  shapes: InputShapes,
  type: string,
  value: Readonly<object>,
): Partial<T> {
  return mapInput(shapes, type, value as Readonly<Record<string, unknown>>) as Partial<T>;
}

function mapInput(
  shapes: InputShapes,
  type: string,
  value: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const shape = shapes[type];
  if (shape === undefined) throw new Error(`${type} is not a generated input type`);
  const out: Record<string, unknown> = {};
  for (const [name, given] of Object.entries(value)) {
    if (given === null || given === undefined) continue;
    const field = shape[name];
    if (field === undefined)
      throw new Error(`${type}.${name} is not a field of the generated input`);
    const nested = field.input;
    out[field.local] =
      nested === undefined
        ? given
        : Array.isArray(given)
          ? given.map((item: Record<string, unknown>) => mapInput(shapes, nested, item))
          : mapInput(shapes, nested, given as Record<string, unknown>);
  }
  return out;
}

/**
 * A service's violation path (`lines[0].product_id`, proto names) as the path of the GraphQL
 * input the client sent (`items[0].productId`). Segments the shapes do not know are camel-cased.
 */
export function graphqlFieldPath(shapes: InputShapes, type: string, protoPath: string): string {
  let current: string | undefined = type;
  return protoPath
    .split('.')
    .map((segment) => {
      const [, name = segment, index = ''] = /^([^[]*)(.*)$/.exec(segment) ?? [];
      const shape = current === undefined ? undefined : shapes[current];
      const entry = shape && Object.entries(shape).find(([, f]) => f.proto === name);
      current = entry?.[1].input;
      return (
        (entry?.[0] ?? name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())) + index
      );
    })
    .join('.');
}
