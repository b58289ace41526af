import {
  Kind,
  parse,
  print,
  type DefinitionNode,
  type EnumTypeDefinitionNode,
  type FieldDefinitionNode,
  type InputObjectTypeDefinitionNode,
  type InputValueDefinitionNode,
  type ObjectTypeDefinitionNode,
} from 'graphql';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  generate,
  loadProtoCatalog,
  type GeneratedFiles,
  type GeneratorConfig,
  type ProtoCatalog,
} from '../src/generator';
import { fromGraphQLInput, graphqlFieldPath, type InputShapes } from '../src/inputs';

// The proto → SDL generator, one test per mapping rule of packages/graphql/README.md, on a
// fixture contract (test/fixtures/fixture/v1/fixture.proto) compiled by buf with source info,
// exactly as `npm run graphql:codegen` compiles proto/.

const W = 'fixture.v1.Widget';
const REQUEST = 'fixture.v1.CreateWidgetRequest';

let dir: string;
let catalog: ProtoCatalog;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'proto-graphql-'));
  const set = path.join(dir, 'fixture.binpb');
  const root = path.resolve(__dirname, '..', '..', '..');
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'buf'),
    ['build', path.join(__dirname, 'fixtures'), '--as-file-descriptor-set', '-o', set],
    { stdio: 'pipe' },
  );
  catalog = loadProtoCatalog(set);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (config: GeneratorConfig): GeneratedFiles => generate(catalog, config);

function definitions(files: GeneratedFiles): readonly DefinitionNode[] {
  return parse(files.sdl).definitions;
}

function named<T extends DefinitionNode>(files: GeneratedFiles, kind: Kind, name: string): T {
  const found = definitions(files).find(
    (d) => d.kind === kind && 'name' in d && d.name?.value === name,
  );
  if (found === undefined) throw new Error(`no ${kind} ${name} in:\n${files.sdl}`);
  return found as T;
}

const objectType = (files: GeneratedFiles, name: string) =>
  named<ObjectTypeDefinitionNode>(files, Kind.OBJECT_TYPE_DEFINITION, name);
const inputType = (files: GeneratedFiles, name: string) =>
  named<InputObjectTypeDefinitionNode>(files, Kind.INPUT_OBJECT_TYPE_DEFINITION, name);
const enumType = (files: GeneratedFiles, name: string) =>
  named<EnumTypeDefinitionNode>(files, Kind.ENUM_TYPE_DEFINITION, name);

/** `field: Type` of every field, in order. */
function fieldsOf(node: ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode): string[] {
  const fields = (node.fields ?? []) as ReadonlyArray<
    FieldDefinitionNode | InputValueDefinitionNode
  >;
  return fields.map((f) => `${f.name.value}: ${print(f.type)}`);
}

function field(
  node: ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode,
  name: string,
): FieldDefinitionNode | InputValueDefinitionNode {
  const fields = (node.fields ?? []) as ReadonlyArray<
    FieldDefinitionNode | InputValueDefinitionNode
  >;
  const found = fields.find((f) => f.name.value === name);
  if (found === undefined) throw new Error(`no field ${name} on ${node.name.value}`);
  return found;
}

const typeOf = (node: ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode, name: string) =>
  print(field(node, name).type);

describe('messages', () => {
  it('become object types described by their leading comment; nested ones take the parent name', () => {
    const files = run({ types: [W] });
    const widget = objectType(files, 'Widget');
    expect(widget.description?.value).toBe('A thing on the shelf.');
    const shelf = objectType(files, 'WidgetShelf');
    expect(shelf.description?.value).toBe('Where it is kept.');
    expect(typeOf(widget, 'shelf')).toBe('WidgetShelf');
  });

  it('used as requests become input types, nested messages as <Name>Input', () => {
    const files = run({ inputs: [{ message: REQUEST }] });
    const input = inputType(files, 'CreateWidgetRequestInput');
    expect(input.description?.value).toBe('A request to make a widget.');
    expect(typeOf(input, 'placement')).toBe('CreateWidgetRequestPlacementInput');
    expect(fieldsOf(inputType(files, 'CreateWidgetRequestPlacementInput'))).toEqual([
      'aisle: String!',
    ]);
    // An input alone brings no output type with it.
    expect(definitions(files).some((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION)).toBe(false);
  });

  it('name fields in camelCase, as ts-proto does', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    expect(typeOf(widget, 'displayName')).toBe('String!');
    expect(typeOf(widget, 'createdAt')).toBe('DateTime');
  });
});

describe('resolver parents', () => {
  it('map each object type to the @shop/proto message behind it, for codegen.yml to type resolver parents', () => {
    const { resolvers } = run({ types: [W] });
    expect(resolvers).toContain("import type { fixture } from '@shop/proto';");
    expect(resolvers).toMatch(/Widget: fixture\.Widget;\n/);
    expect(resolvers).toMatch(/WidgetShelf: fixture\.Widget_Shelf;\n/);
  });
});

describe('enums', () => {
  it('lose their prefix and the UNSPECIFIED zero; a singular enum field is nullable', () => {
    const files = run({ types: [W] });
    const color = enumType(files, 'Color');
    expect(color.values?.map((v) => v.name.value)).toEqual(['RED', 'NAVY_BLUE']);
    const widget = objectType(files, 'Widget');
    expect(typeOf(widget, 'color')).toBe('Color');
    expect(typeOf(widget, 'colors')).toBe('[Color!]!');
    // Value maps for resolvers: GraphQL name → proto number; zero is filtered out of lists.
    expect(files.resolvers).toContain('Color: { RED: 1, NAVY_BLUE: 2 }');
    expect(files.resolvers).toContain('.filter((v) => v !== 0)');
    expect(files.resolvers).toContain(
      "color: (source: Record<string, unknown>) => source['color'] || null",
    );
  });

  it('listed in `enums` are emitted although no type references them', () => {
    expect(() => enumType(run({ types: [W] }), 'Size')).toThrow('no EnumTypeDefinition Size');
    const files = run({ types: [W], enums: ['fixture.v1.Size'] });
    expect(enumType(files, 'Size').values?.map((v) => v.name.value)).toEqual(['SMALL']);
  });
});

describe('lists and presence', () => {
  it('map repeated T to [T!]! in outputs and [T!] in inputs', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    expect(typeOf(widget, 'tags')).toBe('[String!]!');
    expect(typeOf(widget, 'shelves')).toBe('[WidgetShelf!]!');
    expect(typeOf(widget, 'audits')).toBe('[DateTime!]!');
    const input = inputType(run({ inputs: [{ message: REQUEST }] }), 'CreateWidgetRequestInput');
    expect(typeOf(input, 'tags')).toBe('[String!]');
  });

  it('make implicit-presence scalars non-null in outputs, nullable in inputs unless Required', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    for (const name of ['count', 'ratio', 'active', 'displayName']) {
      expect(typeOf(widget, name)).toMatch(/!$/);
    }
    const input = inputType(
      run({ inputs: [{ message: REQUEST }], required: [`${REQUEST}.note`] }),
      'CreateWidgetRequestInput',
    );
    // "Required" at the start of the comment, or listed in `required`.
    expect(typeOf(input, 'displayName')).toBe('String!');
    expect(typeOf(input, 'note')).toBe('String!');
    expect(typeOf(input, 'count')).toBe('Int');
    const unlisted = inputType(run({ inputs: [{ message: REQUEST }] }), 'CreateWidgetRequestInput');
    expect(typeOf(unlisted, 'note')).toBe('String');
  });

  it('make optional fields, message fields and wrappers nullable', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    expect(typeOf(widget, 'nickname')).toBe('String');
    expect(typeOf(widget, 'shelf')).toBe('WidgetShelf');
    expect(typeOf(widget, 'label')).toBe('String');
    expect(typeOf(widget, 'serial')).toBe('Long');
    const input = inputType(run({ inputs: [{ message: REQUEST }] }), 'CreateWidgetRequestInput');
    expect(typeOf(input, 'limit')).toBe('Int');
  });

  it('with allOptional make every input field nullable, and `fields` picks a subset', () => {
    const files = run({
      inputs: [
        {
          message: REQUEST,
          name: 'WidgetPatch',
          fields: ['display_name', 'count'],
          allOptional: true,
        },
      ],
    });
    expect(fieldsOf(inputType(files, 'WidgetPatch'))).toEqual([
      'displayName: String',
      'count: Int',
    ]);
  });
});

describe('scalars', () => {
  it('map string id, *_id and repeated *_ids to ID', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    expect(typeOf(widget, 'id')).toBe('ID!');
    expect(typeOf(widget, 'ownerId')).toBe('ID!');
    expect(typeOf(widget, 'partIds')).toBe('[ID!]!');
    // Other strings stay strings.
    expect(typeOf(widget, 'tags')).toBe('[String!]!');
  });

  it('map int32, sint32 and sfixed32 to Int', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    expect([
      typeOf(widget, 'count'),
      typeOf(widget, 'signedCount'),
      typeOf(widget, 'fixedCount'),
    ]).toEqual(['Int!', 'Int!', 'Int!']);
  });

  it('map int64, uint64 and uint32 to Long, and declare the scalar once', () => {
    const files = run({ types: [W] });
    const widget = objectType(files, 'Widget');
    expect([
      typeOf(widget, 'weight'),
      typeOf(widget, 'bigWeight'),
      typeOf(widget, 'smallWeight'),
    ]).toEqual(['Long!', 'Long!', 'Long!']);
    const longs = definitions(files).filter(
      (d) => d.kind === Kind.SCALAR_TYPE_DEFINITION && d.name.value === 'Long',
    );
    expect(longs).toHaveLength(1);
  });

  it('map google.protobuf.Timestamp to DateTime', () => {
    const files = run({ types: [W] });
    expect(typeOf(objectType(files, 'Widget'), 'createdAt')).toBe('DateTime');
    expect(named(files, Kind.SCALAR_TYPE_DEFINITION, 'DateTime')).toBeDefined();
  });

  it('declare no scalar nothing uses', () => {
    const files = run({ types: ['fixture.v1.Widget.Shelf'] });
    expect(definitions(files).filter((d) => d.kind === Kind.SCALAR_TYPE_DEFINITION)).toEqual([]);
  });
});

describe('special fields', () => {
  it('leave out google.protobuf.FieldMask and Empty', () => {
    const names = fieldsOf(objectType(run({ types: [W] }), 'Widget')).map((f) => f.split(':')[0]);
    expect(names).not.toContain('mask');
    expect(names).not.toContain('nothing');
  });

  it('expose a real oneof as nullable members documented "at most one of"', () => {
    const widget = objectType(run({ types: [W] }), 'Widget');
    for (const name of ['supplier', 'maker']) {
      const member = field(widget, name);
      expect(print(member.type)).toBe('String');
      expect(member.description?.value).toContain('at most one of supplier, maker is set');
    }
    // Never required in inputs, whatever the comment says.
    const input = inputType(run({ inputs: [{ message: REQUEST }] }), 'CreateWidgetRequestInput');
    expect(typeOf(input, 'supplier')).toBe('String');
  });

  it('carry [deprecated = true] as @deprecated on fields and enum values, as a note on inputs', () => {
    const files = run({ types: [W], inputs: [{ message: REQUEST }] });
    const old = field(objectType(files, 'Widget'), 'oldName') as FieldDefinitionNode;
    expect(old.directives?.map((d) => d.name.value)).toEqual(['deprecated']);
    const navy = enumType(files, 'Color').values?.find((v) => v.name.value === 'NAVY_BLUE');
    expect(navy?.directives?.map((d) => d.name.value)).toEqual(['deprecated']);
    const inputOld = field(inputType(files, 'CreateWidgetRequestInput'), 'oldName');
    expect(inputOld.directives ?? []).toEqual([]);
    expect(inputOld.description?.value).toContain('Deprecated in the protobuf contract.');
  });

  it('fail loudly on map fields', () => {
    expect(() => run({ types: ['fixture.v1.Labelled'] })).toThrow(
      'fixture.v1.Labelled.labels: map fields are not supported yet',
    );
  });
});

describe('configuration', () => {
  it('renames messages and fields, with a resolver adapter for each renamed field', () => {
    const files = run({
      types: [W, 'fixture.v1.Money'],
      rename: { [`${W}.display_name`]: 'title', 'fixture.v1.Money': 'Price' },
    });
    expect(typeOf(objectType(files, 'Widget'), 'title')).toBe('String!');
    expect(objectType(files, 'Price')).toBeDefined();
    expect(files.resolvers).toContain(
      "title: (source: Record<string, unknown>) => source['displayName']",
    );
  });

  it('omits listed fields everywhere', () => {
    const files = run({ types: [W], omit: [`${W}.secret`] });
    expect(fieldsOf(objectType(files, 'Widget')).some((f) => f.startsWith('secret:'))).toBe(false);
    expect(fieldsOf(objectType(run({ types: [W] }), 'Widget'))).toContain('secret: String!');
  });

  it('marks shareable value types @shareable', () => {
    const files = run({ types: ['fixture.v1.Money'], shareable: ['fixture.v1.Money'] });
    expect(objectType(files, 'Money').directives?.map((d) => d.name.value)).toEqual(['shareable']);
  });

  it('fails on a message or enum the contract does not have', () => {
    expect(() => run({ types: ['fixture.v1.Nope'] })).toThrow('unknown message fixture.v1.Nope');
    expect(() => run({ enums: ['fixture.v1.Nope'] })).toThrow('unknown enum fixture.v1.Nope');
  });

  it('writes the same files for the same input (the --check mode depends on it)', () => {
    const config: GeneratorConfig = { types: [W], inputs: [{ message: REQUEST }] };
    expect(run(config)).toEqual(run(config));
    expect(run(config).sdl.startsWith('# Code generated by @shop/graphql')).toBe(true);
  });
});

describe('input shapes', () => {
  const ORDER = 'fixture.v1.CreateWidgetRequest';
  /** The generated module's `inputShapes`, imported as a subgraph imports it. */
  const shapesOf = (config: GeneratorConfig, file: string): InputShapes => {
    const target = path.join(dir, file);
    writeFileSync(target, run(config).resolvers);
    return jest.requireActual<{ inputShapes: InputShapes }>(target).inputShapes;
  };

  it('map a GraphQL input back to the proto fields, renamed and nested, without nulls', () => {
    const shapes = shapesOf(
      {
        inputs: [{ message: ORDER, name: 'CreateWidgetInput' }],
        rename: { [`${ORDER}.display_name`]: 'title', [`${ORDER}.Placement.aisle`]: 'row' },
      },
      'widget-resolvers.ts',
    );
    expect(
      fromGraphQLInput(shapes, 'CreateWidgetInput', {
        title: 'Sprocket',
        note: null,
        tags: ['a'],
        placement: { row: '7' },
      }),
    ).toEqual({ displayName: 'Sprocket', tags: ['a'], placement: { aisle: '7' } });
    expect(() => fromGraphQLInput(shapes, 'CreateWidgetInput', { nope: 1 })).toThrow(
      'CreateWidgetInput.nope is not a field of the generated input',
    );
  });

  it("turn a service's violation path into the path of the client's input", () => {
    const shapes: InputShapes = {
      PlaceOrderInput: {
        items: { local: 'lines', proto: 'lines', input: 'PlaceOrderItemInput' },
        paymentMethod: { local: 'paymentMethodToken', proto: 'payment_method_token' },
      },
      PlaceOrderItemInput: { productId: { local: 'productId', proto: 'product_id' } },
    };
    expect(graphqlFieldPath(shapes, 'PlaceOrderInput', 'lines[2].product_id')).toBe(
      'items[2].productId',
    );
    expect(graphqlFieldPath(shapes, 'PlaceOrderInput', 'payment_method_token')).toBe(
      'paymentMethod',
    );
    // Unknown to the shapes: camel-cased as before.
    expect(graphqlFieldPath(shapes, 'PlaceOrderInput', 'shipping_address.postal_code')).toBe(
      'shippingAddress.postalCode',
    );
  });
});
