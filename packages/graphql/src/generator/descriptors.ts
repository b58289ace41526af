import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import type { DescEnum, DescEnumValue, DescField, DescFile, DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { readFileSync } from 'node:fs';

/** Every message and enum of a FileDescriptorSet, with their source comments. */
export interface ProtoCatalog {
  readonly registry: FileRegistry;
  message(typeName: string): DescMessage;
  enum(typeName: string): DescEnum;
  /** The leading comment of a message, enum, field or enum value, trimmed; '' when none. */
  comment(desc: DescMessage | DescEnum | DescField | DescEnumValue): string;
}

// Field numbers of descriptor.proto used to build SourceCodeInfo paths.
const FILE_MESSAGE_TYPE = 4;
const FILE_ENUM_TYPE = 5;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED_TYPE = 3;
const MESSAGE_ENUM_TYPE = 4;
const ENUM_VALUE = 2;

function messagePath(desc: DescMessage): number[] {
  if (desc.parent === undefined) {
    return [FILE_MESSAGE_TYPE, desc.file.proto.messageType.indexOf(desc.proto)];
  }
  return [
    ...messagePath(desc.parent),
    MESSAGE_NESTED_TYPE,
    desc.parent.proto.nestedType.indexOf(desc.proto),
  ];
}

function pathOf(desc: DescMessage | DescEnum | DescField | DescEnumValue): number[] {
  switch (desc.kind) {
    case 'message':
      return messagePath(desc);
    case 'field':
      return [
        ...messagePath(desc.parent),
        MESSAGE_FIELD,
        desc.parent.proto.field.indexOf(desc.proto),
      ];
    case 'enum':
      return desc.parent === undefined
        ? [FILE_ENUM_TYPE, desc.file.proto.enumType.indexOf(desc.proto)]
        : [
            ...messagePath(desc.parent),
            MESSAGE_ENUM_TYPE,
            desc.parent.proto.enumType.indexOf(desc.proto),
          ];
    case 'enum_value':
      return [...pathOf(desc.parent), ENUM_VALUE, desc.parent.proto.value.indexOf(desc.proto)];
  }
}

function fileOf(desc: DescMessage | DescEnum | DescField | DescEnumValue): DescFile {
  switch (desc.kind) {
    case 'field':
      return desc.parent.file;
    case 'enum_value':
      return desc.parent.file;
    default:
      return desc.file;
  }
}

/** Joins the lines of a protobuf comment, dropping the single space after `//`. */
function cleanComment(raw: string): string {
  return raw
    .split('\n')
    .map((line) => (line.startsWith(' ') ? line.slice(1) : line))
    .join('\n')
    .trim();
}

/** Reads a binary FileDescriptorSet (with source info) into a {@link ProtoCatalog}. */
export function loadProtoCatalog(descriptorSetPath: string): ProtoCatalog {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath));
  const registry = createFileRegistry(set);
  const comments = new Map<DescFile, Map<string, string>>();
  const commentsOf = (file: DescFile): Map<string, string> => {
    let map = comments.get(file);
    if (map === undefined) {
      map = new Map();
      for (const location of file.proto.sourceCodeInfo?.location ?? []) {
        if (location.leadingComments) {
          map.set(location.path.join('.'), cleanComment(location.leadingComments));
        }
      }
      comments.set(file, map);
    }
    return map;
  };
  return {
    registry,
    message(typeName) {
      const desc = registry.getMessage(typeName);
      if (desc === undefined) throw new Error(`unknown message ${typeName}`);
      return desc;
    },
    enum(typeName) {
      const desc = registry.getEnum(typeName);
      if (desc === undefined) throw new Error(`unknown enum ${typeName}`);
      return desc;
    },
    comment(desc) {
      return commentsOf(fileOf(desc)).get(pathOf(desc).join('.')) ?? '';
    },
  };
}
