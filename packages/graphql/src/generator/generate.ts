import { ScalarType } from '@bufbuild/protobuf';
import type { DescEnum, DescField, DescMessage } from '@bufbuild/protobuf';
import { parse, print } from 'graphql';
import type { ProtoCatalog } from './descriptors';

/**
 * What one subgraph exposes from the protos (`subgraphs/<domain>/proto-graphql.json`).
 * Names are fully-qualified proto names; fields are `package.Message.field_name`.
 */
export interface GeneratorConfig {
  /** Messages exposed as output object types, with every message and enum they reference. */
  types?: string[];
  /** Messages exposed as input types (mutation and filter arguments). */
  inputs?: InputConfig[];
  /** Enums exposed even when no generated type references them (root field arguments). */
  enums?: string[];
  /** Output types marked `@shareable`: value types that several subgraphs define. */
  shareable?: string[];
  /** Renames: a message to a GraphQL type name, or `Message.field` to a GraphQL field name. */
  rename?: Record<string, string>;
  /** Fields left out everywhere. */
  omit?: string[];
  /** Input fields made non-null although their comment does not start with "Required". */
  required?: string[];
}

/** One input type derived from a message. */
export interface InputConfig {
  message: string;
  /** GraphQL name; defaults to the message name plus `Input`. */
  name?: string;
  /** Only these fields (proto names); defaults to all. */
  fields?: string[];
  /** Every field nullable (partial updates), whatever the comments say. */
  allOptional?: boolean;
}

/** The generated files of one subgraph. */
export interface GeneratedFiles {
  /** `generated/types.graphql`: types, inputs, enums and scalars. */
  sdl: string;
  /** `generated/proto-resolvers.ts`: enum value maps and field adapters. */
  resolvers: string;
}

const TIMESTAMP = 'google.protobuf.Timestamp';
const SKIPPED_MESSAGES = new Set(['google.protobuf.FieldMask', 'google.protobuf.Empty']);
const WRAPPERS: Record<string, string> = {
  'google.protobuf.StringValue': 'String',
  'google.protobuf.BytesValue': 'String',
  'google.protobuf.BoolValue': 'Boolean',
  'google.protobuf.Int32Value': 'Int',
  'google.protobuf.UInt32Value': 'Long',
  'google.protobuf.Int64Value': 'Long',
  'google.protobuf.UInt64Value': 'Long',
  'google.protobuf.FloatValue': 'Float',
  'google.protobuf.DoubleValue': 'Float',
};

/** Proto scalar → GraphQL scalar. 64-bit and unsigned 32-bit integers use `Long` (see README). */
function scalarName(scalar: ScalarType): string {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 'String';
    case ScalarType.BOOL:
      return 'Boolean';
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return 'Int';
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 'Long';
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return 'Float';
  }
}

const camel = (name: string): string =>
  name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const screaming = (name: string): string =>
  name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function description(text: string): string {
  if (text === '') return '';
  return `"""\n${text.replace(/"""/g, '\\"""')}\n"""\n`;
}

const deprecated = (isDeprecated: boolean): string =>
  isDeprecated ? ' @deprecated(reason: "Deprecated in the protobuf contract.")' : '';

/** GraphQL name of an enum value: the enum's SCREAMING_CASE prefix stripped. */
export function enumValueName(desc: DescEnum, protoName: string): string {
  const prefix = `${screaming(desc.name)}_`;
  return protoName.startsWith(prefix) ? protoName.slice(prefix.length) : protoName;
}

interface TypeRef {
  name: string;
  list: boolean;
  nullable: boolean;
}

/** Generates the SDL and the resolver adapters one subgraph takes from the protos. */
export function generate(catalog: ProtoCatalog, config: GeneratorConfig): GeneratedFiles {
  const rename = config.rename ?? {};
  const omit = new Set(config.omit ?? []);
  const required = new Set(config.required ?? []);
  const shareable = new Set(config.shareable ?? []);

  const outputs = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const scalars = new Set<string>();
  const blocks: string[] = [];
  // resolvers[typeName][fieldName] = TypeScript expression
  const adapters = new Map<string, Map<string, string>>();
  // GraphQL object type → the @shop/proto message type behind it (its resolvers' parent)
  const parents = new Map<string, string>();

  const typeName = (desc: DescMessage | DescEnum): string =>
    rename[desc.typeName] ?? (desc.parent ? `${typeName(desc.parent)}${desc.name}` : desc.name);
  const fieldName = (field: DescField): string =>
    rename[`${field.parent.typeName}.${field.name}`] ?? camel(field.name);
  const isOmitted = (field: DescField): boolean =>
    omit.has(`${field.parent.typeName}.${field.name}`) ||
    (field.message !== undefined && SKIPPED_MESSAGES.has(field.message.typeName));
  const adapter = (type: string, field: string, expression: string): void => {
    let map = adapters.get(type);
    if (map === undefined) adapters.set(type, (map = new Map<string, string>()));
    map.set(field, expression);
  };

  /** Resolves a field's GraphQL type; `inputNames` maps message → input type name in input mode. */
  function refOf(field: DescField, inputNames?: (m: DescMessage) => string): TypeRef {
    const list = field.fieldKind === 'list';
    if (field.fieldKind === 'map') {
      throw new Error(`${field.parent.typeName}.${field.name}: map fields are not supported yet`);
    }
    const presence = field.proto.proto3Optional || field.oneof !== undefined;
    if (field.scalar !== undefined) {
      const idLike =
        field.scalar === ScalarType.STRING &&
        (list ? /(^|_)ids$/.test(field.name) : /(^|_)id$/.test(field.name));
      const name = idLike ? 'ID' : scalarName(field.scalar);
      if (name === 'Long') scalars.add(name);
      return { name, list, nullable: presence };
    }
    if (field.enum !== undefined) {
      enums.set(field.enum.typeName, field.enum);
      // Zero (UNSPECIFIED) is not exposed: a singular enum reads as null while unset.
      return { name: typeName(field.enum), list, nullable: !list };
    }
    const message = field.message;
    if (message.typeName === TIMESTAMP) {
      scalars.add('DateTime');
      return { name: 'DateTime', list, nullable: !list };
    }
    const wrapper = WRAPPERS[message.typeName];
    if (wrapper !== undefined) {
      if (wrapper === 'Long') scalars.add(wrapper);
      return { name: wrapper, list, nullable: true };
    }
    if (inputNames) return { name: inputNames(message), list, nullable: !list };
    outputs.set(message.typeName, message);
    return { name: typeName(message), list, nullable: !list };
  }

  const render = (ref: TypeRef, nullable: boolean): string => {
    const inner = ref.list ? `[${ref.name}!]` : ref.name;
    return nullable ? inner : `${inner}!`;
  };

  function oneofNote(field: DescField): string {
    if (field.oneof === undefined) return '';
    const members = field.oneof.fields.map(fieldName).join(', ');
    return `\n\nOne of \`${field.oneof.name}\`: at most one of ${members} is set.`;
  }

  function emitOutput(desc: DescMessage): void {
    const name = typeName(desc);
    parents.set(name, protoTypeOf(desc));
    const lines: string[] = [];
    for (const field of desc.fields) {
      if (isOmitted(field)) continue;
      const ref = refOf(field);
      const gqlField = fieldName(field);
      if (gqlField !== camel(field.name)) {
        adapter(
          name,
          gqlField,
          `(source: Record<string, unknown>) => source['${field.localName}']`,
        );
      }
      if (field.fieldKind === 'enum') {
        adapter(
          name,
          gqlField,
          `(source: Record<string, unknown>) => source['${field.localName}'] || null`,
        );
      } else if (field.fieldKind === 'list' && field.listKind === 'enum') {
        adapter(
          name,
          gqlField,
          `(source: Record<string, unknown>) => ((source['${field.localName}'] as number[] | undefined) ?? []).filter((v) => v !== 0)`,
        );
      }
      const doc = description(catalog.comment(field) + oneofNote(field));
      lines.push(`${doc}${gqlField}: ${render(ref, ref.nullable)}${deprecated(field.deprecated)}`);
    }
    const directive = shareable.has(desc.typeName) ? ' @shareable' : '';
    blocks.push(
      `${description(catalog.comment(desc))}type ${name}${directive} {\n${lines.join('\n')}\n}`,
    );
  }

  function emitEnum(desc: DescEnum): void {
    const values = desc.values
      .filter((v) => v.number !== 0)
      .map(
        (v) =>
          `${description(catalog.comment(v))}${enumValueName(desc, v.name)}${deprecated(v.deprecated)}`,
      );
    blocks.push(
      `${description(catalog.comment(desc))}enum ${typeName(desc)} {\n${values.join('\n')}\n}`,
    );
    adapter(
      typeName(desc),
      '',
      `{ ${desc.values
        .filter((v) => v.number !== 0)
        .map((v) => `${enumValueName(desc, v.name)}: ${v.number}`)
        .join(', ')} }`,
    );
  }

  // Inputs first: they may add enums and scalars; nested messages become `<Name>Input`.
  const inputBlocks = new Map<string, string>();
  const nestedInputs: DescMessage[] = [];
  const nestedInputName = (m: DescMessage): string => {
    const name = `${typeName(m)}Input`;
    if (!inputBlocks.has(name) && !nestedInputs.includes(m)) nestedInputs.push(m);
    return name;
  };
  // shapes[input type][GraphQL field] = the proto field it maps to (see `InputShapes`).
  const shapes = new Map<string, Map<string, { local: string; proto: string; input?: string }>>();
  function emitInput(desc: DescMessage, spec: InputConfig): void {
    const name = spec.name ?? `${typeName(desc)}Input`;
    if (inputBlocks.has(name)) return;
    inputBlocks.set(name, '');
    const shape = new Map<string, { local: string; proto: string; input?: string }>();
    shapes.set(name, shape);
    const lines: string[] = [];
    for (const field of desc.fields) {
      if (isOmitted(field)) continue;
      if (spec.fields && !spec.fields.includes(field.name)) continue;
      const ref = refOf(field, nestedInputName);
      const nested =
        field.message !== undefined &&
        field.message.typeName !== TIMESTAMP &&
        WRAPPERS[field.message.typeName] === undefined
          ? ref.name
          : undefined;
      shape.set(fieldName(field), {
        local: field.localName,
        proto: field.name,
        ...(nested === undefined ? {} : { input: nested }),
      });
      const comment = catalog.comment(field);
      const isRequired =
        !spec.allOptional &&
        !field.proto.proto3Optional &&
        field.oneof === undefined &&
        (/^Required\b/.test(comment) || required.has(`${desc.typeName}.${field.name}`));
      const note = field.deprecated ? '\n\nDeprecated in the protobuf contract.' : '';
      lines.push(
        `${description(comment + oneofNote(field) + note)}${fieldName(field)}: ${render(ref, !isRequired)}`,
      );
    }
    inputBlocks.set(
      name,
      `${description(catalog.comment(desc))}input ${name} {\n${lines.join('\n')}\n}`,
    );
  }
  for (const spec of config.inputs ?? []) emitInput(catalog.message(spec.message), spec);
  while (nestedInputs.length > 0) {
    const next = nestedInputs.shift()!;
    emitInput(next, { message: next.typeName });
  }

  // Outputs: the configured roots, then everything they reach, in discovery order.
  for (const root of config.types ?? []) outputs.set(root, catalog.message(root));
  const emitted = new Set<string>();
  for (let pending = [...outputs.values()]; pending.length > 0;) {
    for (const desc of pending) {
      if (emitted.has(desc.typeName)) continue;
      emitted.add(desc.typeName);
      emitOutput(desc);
    }
    pending = [...outputs.values()].filter((d) => !emitted.has(d.typeName));
  }
  blocks.push(...inputBlocks.values());
  for (const name of config.enums ?? []) enums.set(name, catalog.enum(name));
  for (const desc of enums.values()) emitEnum(desc);
  const scalarDocs: Record<string, string> = {
    DateTime: 'An instant in time, as an RFC 3339 string in UTC, e.g. "2025-01-31T09:30:00.000Z".',
    Long: 'A 64-bit integer from the protobuf contract, as a JSON number. Values are exact up to 2^53 (9007199254740991); anything larger is an error, never rounded.',
  };
  for (const scalar of [...scalars].sort()) {
    blocks.push(`${description(scalarDocs[scalar] ?? '')}scalar ${scalar}`);
  }

  const header =
    '# Code generated by @shop/graphql (proto-graphql) from the protobuf descriptors. DO NOT EDIT.\n';
  const sdl = header + print(parse(blocks.join('\n\n'), { noLocation: true })) + '\n';
  return { sdl, resolvers: renderResolvers(adapters, shapes, parents) };
}

/**
 * The TypeScript type of a message as `@shop/proto` exports it: the namespace of its file
 * (`shop/<domain>/v1/<domain>.proto` → `<domain>`, `events.proto` → `<domain>Events`,
 * `envelope.proto` → `events`), then ts-proto's name (nested messages joined by `_`).
 */
export function protoTypeOf(desc: DescMessage): string {
  // DescFile names have no extension: shop/product/v1/product.
  const parts = desc.file.name.split('/');
  const file = parts[parts.length - 1];
  const domain = parts.length >= 3 ? parts[parts.length - 3] : file;
  const namespace = file === 'envelope' ? 'events' : file === 'events' ? `${domain}Events` : file;
  const names: string[] = [];
  for (let d: DescMessage | undefined = desc; d !== undefined; d = d.parent) names.unshift(d.name);
  return `${namespace}.${names.join('_')}`;
}

function renderResolvers(
  adapters: Map<string, Map<string, string>>,
  shapes: Map<string, Map<string, { local: string; proto: string; input?: string }>>,
  parents: Map<string, string>,
): string {
  const namespaces = [...new Set([...parents.values()].map((t) => t.split('.')[0]))].sort();
  const entries: string[] = [];
  for (const [type, fields] of adapters) {
    const enumMap = fields.get('');
    if (enumMap !== undefined) {
      entries.push(`  ${type}: ${enumMap},`);
      continue;
    }
    const body = [...fields].map(([field, expr]) => `    ${field}: ${expr},`).join('\n');
    entries.push(`  ${type}: {\n${body}\n  },`);
  }
  return [
    '// Code generated by @shop/graphql (proto-graphql) from the protobuf descriptors. DO NOT EDIT.',
    '/* eslint-disable */',
    ...(namespaces.length > 0
      ? [`import type { ${namespaces.join(', ')} } from '@shop/proto';`]
      : []),
    '',
    '/** Enum value maps (GraphQL name → proto number) and field adapters for the generated types. */',
    'export const protoResolvers = {',
    ...entries,
    '};',
    '',
    '/**',
    " * Each input type's fields: the proto field (ts-proto `local` name, proto name) and, for a",
    ' * nested message, its input type. Read by `fromGraphQLInput` and `graphqlFieldPath`.',
    ' */',
    'export const inputShapes = {',
    ...[...shapes].map(
      ([type, fields]) =>
        `  ${type}: {\n${[...fields]
          .map(
            ([name, f]) =>
              `    ${name}: { local: '${f.local}', proto: '${f.proto}'${f.input === undefined ? '' : `, input: '${f.input}'`} },`,
          )
          .join('\n')}\n  },`,
    ),
    '} as const;',
    '',
    '/** The proto message behind each generated object type: what its resolvers receive as parent. */',
    'export interface ProtoParents {',
    ...[...parents].sort(([a], [b]) => a.localeCompare(b)).map(([type, ts]) => `  ${type}: ${ts};`),
    '}',
    '',
    '/**',
    " * A resolver's parent (and result) type for GraphQL type `T` (codegen.yml's `defaultMapper`): the",
    ' * proto message of a generated type, `any` for the others (connections, entity stubs, scalars).',
    ' */',
    'export type ProtoParent<T> = T extends { __typename?: infer N }',
    '  ? NonNullable<N> extends keyof ProtoParents',
    '    ? ProtoParents[NonNullable<N>]',
    '    : any',
    '  : any;',
    '',
  ].join('\n');
}
