/**
 * Loads the .proto files at run time with protobufjs and turns them into
 * grpc-js service definitions and message codecs. One Root for the process:
 * grpc serialisation and Raft log entry encoding share the same types.
 *
 * Decoded messages use camelCase field names, uint64 as JS numbers (checked
 * safe, see safe-integers.ts), enums as numbers, and defaults for absent
 * fields (scalars 0/''/false, repeated [], maps {}, nested messages null).
 * Map keys are strings, as in JSON.
 *
 * The server side deserialiser never throws: grpc-js would answer INTERNAL.
 * It returns a MalformedMessage instead, which RpcServer answers with
 * INVALID_ARGUMENT (src/rpc/rpc-server.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { assert } from '../common/assert.js';
import { findUnsafeInteger } from './safe-integers.js';

export const PROTO_FILES = ['common.proto', 'mds.proto', 'metaserver.proto', 'raft.proto'] as const;

/** The directory holding the .proto files next to this module (copied into dist/ by scripts/copy-assets.js). */
export const PROTO_DIR = dirname(fileURLToPath(import.meta.url));

export const CONVERSION_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

/** Marks a request that failed to decode; carried to the handler wrapper instead of throwing. */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}

let root: protobuf.Root | null = null;

export function protoRoot(): protobuf.Root {
  if (root !== null) return root;
  for (const file of PROTO_FILES) {
    assert(existsSync(join(PROTO_DIR, file)), `missing ${join(PROTO_DIR, file)}: run node scripts/copy-assets.js after tsc`);
  }
  const loaded = new protobuf.Root();
  // Imports name files relative to the proto directory.
  loaded.resolvePath = (_origin: string, target: string) => join(PROTO_DIR, target.replace(/^.*[\\/]/, ''));
  loaded.loadSync([...PROTO_FILES], { keepCase: false });
  loaded.resolveAll();
  root = loaded;
  return loaded;
}

export interface MessageCodec<T> {
  readonly fullName: string;
  encode(message: unknown): Buffer;
  /** Throws on malformed bytes or an unsafe integer. */
  decode(bytes: Uint8Array): T;
}

const codecs = new Map<string, MessageCodec<unknown>>();

/** A codec for one message type, e.g. messageCodec<Inode>('curvefs.metaserver.Inode'). */
export function messageCodec<T>(fullName: string): MessageCodec<T> {
  const cached = codecs.get(fullName);
  if (cached !== undefined) return cached as MessageCodec<T>;
  const type = protoRoot().lookupType(fullName);
  const codec: MessageCodec<T> = {
    fullName,
    encode(message: unknown): Buffer {
      // fromObject converts plain objects (numbers for uint64, strings for enums too).
      const bytes = type.encode(type.fromObject(message as Record<string, unknown>)).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode(bytes: Uint8Array): T {
      const decoded = type.toObject(type.decode(bytes), CONVERSION_OPTIONS);
      const unsafe = findUnsafeInteger(decoded);
      if (unsafe !== null) throw new RangeError(`${fullName}.${unsafe} is not a safe integer`);
      return decoded as T;
    },
  };
  codecs.set(fullName, codec as MessageCodec<unknown>);
  return codec;
}

/** Decode for the server side: never throws (see the module comment). */
function tolerantDecode<T>(codec: MessageCodec<T>): (bytes: Buffer) => T | MalformedMessage {
  return (bytes: Buffer) => {
    try {
      return codec.decode(bytes);
    } catch (error) {
      return new MalformedMessage(`cannot decode ${codec.fullName}: ${(error as Error).message}`);
    }
  };
}

const services = new Map<string, ServiceDefinition>();

/** The grpc-js service definition of e.g. 'curvefs.mds.Mds'. */
export function serviceDefinition(fullName: string): ServiceDefinition {
  const cached = services.get(fullName);
  if (cached !== undefined) return cached;
  const service = protoRoot().lookupService(fullName);
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    assert(method.resolvedRequestType !== null && method.resolvedResponseType !== null, `unresolved ${method.name}`);
    const request = messageCodec<unknown>(method.resolvedRequestType.fullName.replace(/^\./, ''));
    const response = messageCodec<unknown>(method.resolvedResponseType.fullName.replace(/^\./, ''));
    definition[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (message: unknown) => request.encode(message),
      requestDeserialize: tolerantDecode(request),
      responseSerialize: (message: unknown) => response.encode(message),
      responseDeserialize: (bytes: Buffer) => response.decode(bytes),
      originalName: method.name,
    };
  }
  services.set(fullName, definition);
  return definition;
}

/** Enum values of a proto enum by name, e.g. protoEnum('curvefs.common.MetaStatusCode'). */
export function protoEnum(fullName: string): Readonly<Record<string, number>> {
  return protoRoot().lookupEnum(fullName).values;
}
