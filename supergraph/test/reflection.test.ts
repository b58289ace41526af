import {
  Client,
  credentials,
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor';
import path from 'node:path';
import { startStack, type Stack } from './harness';

// Every domain service answers gRPC server reflection the way grpcurl uses it: `list` names the
// services it serves (and health), `describe` of each finds every file its methods need, down to
// google.protobuf.Timestamp, so a client can build each request and response type, and a call
// built from those descriptors alone succeeds.

const REFLECTION_PROTO = path.join(
  path.dirname(require.resolve('@grpc/reflection')),
  '../proto/grpc/reflection/v1/reflection.proto',
);

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}
type ReflectionRequest =
  { list_services: string } | { file_containing_symbol: string } | { file_by_filename: string };

/** The reflection client, loaded once from the proto @grpc/reflection ships. */
const { ServerReflection } = (
  loadPackageDefinition(
    loadSync(REFLECTION_PROTO, { keepCase: true, longs: String, enums: String, defaults: true }),
  ) as unknown as {
    grpc: { reflection: { v1: GrpcObject & { ServerReflection: ServiceClientConstructor } } };
  }
).grpc.reflection.v1;

/** One request on a fresh reflection stream, as grpcurl sends them. */
async function ask(port: number, request: ReflectionRequest): Promise<ReflectionResponse> {
  const client = new ServerReflection(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const stream = (
      client as unknown as {
        ServerReflectionInfo: () => NodeJS.ReadWriteStream & { write(v: unknown): void };
      }
    ).ServerReflectionInfo();
    const answer = new Promise<ReflectionResponse>((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', reject);
    });
    stream.write(request);
    const response = await answer;
    stream.end();
    return response;
  } finally {
    client.close();
  }
}

type File = descriptor.IFileDescriptorProto;
/** The files a file imports (typed loosely by protobufjs). */
const importsOf = (file: File): string[] => (file.dependency ?? []) as string[];
type Message = descriptor.IDescriptorProto;

/** The files describing `symbol`, with every import fetched by name as a client does. */
async function filesFor(port: number, symbol: string): Promise<Map<string, File>> {
  const files = new Map<string, File>();
  const add = (response: ReflectionResponse): void => {
    if (response.error_response) throw new Error(response.error_response.error_message);
    for (const bytes of response.file_descriptor_response?.file_descriptor_proto ?? []) {
      const file = descriptor.FileDescriptorProto.decode(bytes) as File;
      files.set(file.name ?? '', file);
    }
  };
  add(await ask(port, { file_containing_symbol: symbol }));
  for (;;) {
    const missing = [...files.values()].flatMap(importsOf).filter((name) => !files.has(name));
    if (missing.length === 0) return files;
    for (const name of new Set(missing)) add(await ask(port, { file_by_filename: name }));
  }
}

/** Fully qualified names (leading dot) of the messages and enums a file declares. */
function declared(file: File): Set<string> {
  const names = new Set<string>();
  const visit = (scope: string, messages: Message[], enums: descriptor.IEnumDescriptorProto[]) => {
    for (const e of enums) names.add(`${scope}.${e.name}`);
    for (const m of messages) {
      names.add(`${scope}.${m.name}`);
      visit(`${scope}.${m.name}`, m.nestedType ?? [], m.enumType ?? []);
    }
  };
  visit(file.package ? `.${file.package}` : '', file.messageType ?? [], file.enumType ?? []);
  return names;
}

/**
 * Type references a strict client (grpcurl's protoreflect) cannot resolve: each must be a fully
 * qualified name declared in the file itself or in a file it imports.
 */
function unresolved(files: Map<string, File>): string[] {
  const problems: string[] = [];
  for (const file of files.values()) {
    const visible = new Set(declared(file));
    for (const dep of importsOf(file)) for (const n of declared(files.get(dep)!)) visible.add(n);
    const check = (where: string, ref: string | null | undefined) => {
      if (ref && !visible.has(ref)) problems.push(`${file.name}: ${where} -> ${ref}`);
    };
    const visit = (messages: Message[]) => {
      for (const m of messages) {
        for (const f of m.field ?? []) check(`${m.name}.${f.name}`, f.typeName);
        visit(m.nestedType ?? []);
      }
    };
    visit(file.messageType ?? []);
    for (const service of file.service ?? []) {
      for (const method of service.method ?? []) {
        check(`${service.name}.${method.name} input`, method.inputType);
        check(`${service.name}.${method.name} output`, method.outputType);
      }
    }
  }
  return problems;
}

/** A unary call built from reflected descriptors alone (no generated code, no .proto file). */
async function callByReflection(
  port: number,
  files: Map<string, File>,
  service: string,
  method: string,
  request: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const root = (
    protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }
  ).fromDescriptor({ file: [...files.values()] });
  const rpc = root.lookupService(service).methods[method];
  const input = root.lookupType(rpc.requestType);
  const output = root.lookupType(rpc.responseType);
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const answer = await new Promise<protobuf.Message>((resolve, reject) =>
      client.makeUnaryRequest(
        `/${service}/${method}`,
        (value: Record<string, unknown>) =>
          Buffer.from(input.encode(input.fromObject(value)).finish()),
        (bytes: Buffer) => output.decode(bytes),
        request,
        (err, value) => (err || !value ? reject(err ?? new Error('no answer')) : resolve(value)),
      ),
    );
    return output.toObject(answer, { enums: String });
  } finally {
    client.close();
  }
}

const SERVED: Record<string, string[]> = {
  product: ['shop.product.v1.ProductService'],
  category: ['shop.category.v1.CategoryService'],
  inventory: ['shop.inventory.v1.InventoryService'],
  user: ['shop.user.v1.UserService'],
  order: ['shop.order.v1.OrderService'],
  notification: ['shop.notification.v1.NotificationService'],
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('reflection', { orders: true });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('gRPC server reflection', () => {
  it.each(Object.keys(SERVED))(
    'the %s service lists what it serves, describes every method fully and takes a call built from reflection alone',
    async (name) => {
      const port = stack.grpcPorts[name];
      const listed = (await ask(port, { list_services: '' })).list_services_response?.service.map(
        (s) => s.name,
      );
      expect([...(listed ?? [])].sort()).toEqual([...SERVED[name], 'grpc.health.v1.Health'].sort());

      for (const serviceName of [...SERVED[name], 'grpc.health.v1.Health']) {
        const files = await filesFor(port, serviceName);
        const methods = [...files.values()]
          .flatMap((f) => (f.service ?? []).map((s) => ({ s, pkg: f.package })))
          .filter(({ s, pkg }) => `${pkg}.${s.name}` === serviceName)
          .flatMap(({ s }) => s.method ?? []);
        expect(methods.length).toBeGreaterThan(0);
        expect(unresolved(files)).toEqual([]);
      }

      // One call made from what reflection told, as `grpcurl -d ... Health/Check` does.
      const files = await filesFor(port, 'grpc.health.v1.Health');
      await expect(
        callByReflection(port, files, 'grpc.health.v1.Health', 'Check', {
          service: SERVED[name][0],
        }),
      ).resolves.toEqual({ status: 'SERVING' });
    },
  );

  it.each(Object.keys(SERVED))(
    'the %s service describes the google.rpc error details its errors carry',
    async (name) => {
      const port = stack.grpcPorts[name];
      for (const symbol of ['google.rpc.Status', 'google.rpc.ErrorInfo', 'google.rpc.BadRequest']) {
        const files = await filesFor(port, symbol);
        expect([...files.values()].some((f) => declared(f).has(`.${symbol}`))).toBe(true);
        expect(unresolved(files)).toEqual([]);
      }
    },
  );

  it("decodes a refused call's details with reflected types alone, as grpcurl prints them", async () => {
    const port = stack.grpcPorts.product;
    const files = await filesFor(port, 'shop.product.v1.ProductService');
    for (const symbol of ['google.rpc.Status', 'google.rpc.ErrorInfo', 'google.rpc.BadRequest']) {
      for (const [name, file] of await filesFor(port, symbol)) files.set(name, file);
    }
    const refusal = await callByReflection(
      port,
      files,
      'shop.product.v1.ProductService',
      'GetProduct',
      { id: '' },
    ).catch((err: { metadata: { get(key: string): unknown[] } }) => err);
    const [bytes] = (refusal as { metadata: { get(key: string): unknown[] } }).metadata.get(
      'grpc-status-details-bin',
    );
    const root = (
      protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }
    ).fromDescriptor({ file: [...files.values()] });
    const status = root.lookupType('google.rpc.Status').decode(bytes as Buffer) as unknown as {
      details: Array<{ type_url: string; value: Uint8Array }>;
    };
    const details = status.details.map((any) => {
      const type = root.lookupType(any.type_url.replace('type.googleapis.com/', ''));
      return [type.fullName, type.toObject(type.decode(any.value))];
    });
    expect(details).toEqual([
      [
        '.google.rpc.ErrorInfo',
        expect.objectContaining({ reason: 'INVALID_ARGUMENT', domain: 'shop.platform' }),
      ],
      ['.google.rpc.BadRequest', { field_violations: [expect.objectContaining({ field: 'id' })] }],
    ]);
  });
});
