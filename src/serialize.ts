// File formats: safetensors (save/load) and the JSON form (toJSON/fromJSON), with the architecture as
// layer specs from the registry. Everything read is checked here before a single byte of a network is
// written; src/checkpoint.ts builds networks and optimizers from what this returns.
import { BackpropError, describeValue } from './errors.js';
import { LAYERS, type LayerSpec, layerKind } from './registry.js';
import { readOptions } from './options.js';

export type { LayerSpec };

/** A named tensor of float32 values. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export const FORMAT = 'backprop-wasm';

function corrupt(message: string): BackpropError {
  return new BackpropError('CORRUPT_FILE', message);
}

/** Checks layer specs read from a file against the registry; returns them with their options resolved. */
export function checkLayerSpecs(specs: unknown): LayerSpec[] {
  if (!Array.isArray(specs) || specs.length === 0)
    throw corrupt(`expected a non-empty array of layers, got ${describeValue(specs)}`);
  return specs.map((spec, k) => {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      throw corrupt(`layers[${k}] is ${describeValue(spec)}, expected a layer object`);
    }
    const { type, ...options } = spec as Record<string, unknown>;
    const kind = layerKind(type);
    if (!kind) {
      const given = typeof type === 'string' ? JSON.stringify(type) : describeValue(type);
      throw corrupt(
        `layers[${k}] has unknown type ${given}: this version of backprop-wasm knows ${Object.keys(LAYERS).join(', ')}`,
      );
    }
    try {
      const resolved = readOptions(type as string, kind.options, options);
      kind.validate?.(resolved);
      return { type, ...resolved } as LayerSpec;
    } catch (error) {
      throw corrupt(`layers[${k}] is not a valid ${type as string}: ${(error as Error).message}`);
    }
  });
}

/** The parameter names and shapes that a list of layers has, as in PyTorch's state_dict. */
export function parameterShapes(specs: LayerSpec[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  specs.forEach((spec, k) => {
    const { type, ...options } = spec;
    const kind = layerKind(type)!;
    for (const [name, shape] of Object.entries(kind.parameterShapes?.(options) ?? {})) shapes.set(`${k}.${name}`, shape);
  });
  return shapes;
}

/** Checks that `tensors` holds exactly the parameters `expected` names, with their shapes. */
export function checkTensorsMatch(
  expected: Map<string, number[]>,
  tensors: Map<string, NamedTensor>,
  ignorePrefix: string,
): void {
  for (const [name, shape] of expected) {
    const tensor = tensors.get(name);
    if (!tensor) throw corrupt(`the file has no tensor "${name}" (expected shape [${shape}])`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      throw corrupt(`tensor "${name}" has shape [${tensor.shape}], expected [${shape}]`);
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name) && !name.startsWith(ignorePrefix)) throw corrupt(`the file has an unexpected tensor "${name}"`);
  }
}

// ---- safetensors: u64 little-endian header length, JSON header, raw little-endian tensor bytes ----

const DTYPE_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };
const MAX_HEADER_BYTES = 100_000_000;

export function encodeSafetensors(tensors: [string, NamedTensor][], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + tensor.data.byteLength] };
    offset += tensor.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8); // the data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, tensor] of tensors) {
    out.set(littleEndianBytes(tensor.data), at);
    at += tensor.data.byteLength;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function littleEndianBytes(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

export interface DecodedFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

export function decodeSafetensors(bytes: unknown): DecodedFile {
  if (!(bytes instanceof Uint8Array))
    throw new BackpropError('BAD_TYPE', `expected the file as a Uint8Array, got ${describeValue(bytes)}`);
  if (bytes.length < 8) throw corrupt(`a safetensors file has at least 8 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(bytes.length - 8, MAX_HEADER_BYTES))) {
    throw corrupt(`the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw corrupt(`the header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw corrupt('the header is not a JSON object');
  const { __metadata__: rawMetadata = {}, ...entries } = header as Record<string, unknown>;
  const metadata = checkMetadata(rawMetadata);
  const dataLength = bytes.length - dataStart;
  const spans: [number, number, string][] = [];
  const tensors = new Map<string, NamedTensor>();
  for (const [name, entry] of Object.entries(entries)) {
    const { dtype, shape, begin, end } = checkEntry(name, entry, dataLength);
    spans.push([begin, end, name]);
    tensors.set(name, { shape, data: toFloat32(bytes.subarray(dataStart + begin, dataStart + end), dtype) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered)
      throw corrupt(
        `tensor "${name}" starts at byte ${begin}, expected ${covered}: tensors must tile the data without gaps or overlaps`,
      );
    covered = end;
  }
  if (covered !== dataLength) throw corrupt(`the tensors cover ${covered} bytes of data but the file has ${dataLength}`);
  return { tensors, metadata };
}

function checkMetadata(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw corrupt('__metadata__ is not an object');
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw corrupt(`__metadata__.${key} is ${describeValue(v)}; safetensors metadata values are strings`);
  }
  return value as Record<string, string>;
}

function checkEntry(name: string, entry: unknown, dataLength: number) {
  if (entry === null || typeof entry !== 'object') throw corrupt(`tensor "${name}" has no description`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw corrupt(
      `tensor "${name}" has dtype ${describeValue(dtype)}; backprop-wasm reads ${Object.keys(DTYPE_BYTES).join(', ')}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw corrupt(`tensor "${name}" has shape ${describeValue(shape)}, expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw corrupt(`tensor "${name}" has data_offsets ${describeValue(offsets)}, expected [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  if (end < begin || end > dataLength || end - begin !== elements * DTYPE_BYTES[dtype]) {
    throw corrupt(
      `tensor "${name}" spans bytes [${begin}, ${end}) of ${dataLength}, which does not hold ${elements} ${dtype} values`,
    );
  }
  return { dtype, shape: shape as number[], begin, end };
}

function toFloat32(bytes: Uint8Array, dtype: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.length / DTYPE_BYTES[dtype];
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32':
        out[i] = view.getFloat32(i * 4, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(i * 8, true);
        break;
      case 'BF16':
        out[i] = bfloat16(view.getUint16(i * 2, true));
        break;
      default:
        out[i] = float16(view.getUint16(i * 2, true));
    }
  }
  return out;
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bfloat16(bits: number): number {
  bf16Scratch.setUint32(0, bits << 16);
  return bf16Scratch.getFloat32(0);
}

function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f,
    fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The JSON form of a network (Network.toJSON / Network.fromJSON). */
export interface NetworkJSON {
  format: typeof FORMAT;
  version: 1;
  layers: LayerSpec[];
  /** Parameters by state_dict name; data row-major. */
  parameters: Record<string, { shape: number[]; data: number[] }>;
}

/** Checks a NetworkJSON (or its text) and returns its layer specs and tensors. */
export function readNetworkJSON(json: unknown): { specs: LayerSpec[]; tensors: Map<string, NamedTensor> } {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw corrupt(`the network JSON does not parse (${(error as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object') throw corrupt(`expected a network JSON object, got ${describeValue(value)}`);
  const { format, layers, parameters } = value as Record<string, unknown>;
  if (format !== FORMAT) throw corrupt(`expected format "${FORMAT}", got ${describeValue(format)}`);
  const specs = checkLayerSpecs(layers);
  if (parameters === null || typeof parameters !== 'object')
    throw corrupt(`expected parameters to be an object, got ${describeValue(parameters)}`);
  const tensors = new Map<string, NamedTensor>();
  for (const [name, entry] of Object.entries(parameters)) {
    const { shape, data } = (entry ?? {}) as Record<string, unknown>;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw corrupt(`parameter "${name}" has no valid shape`);
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!Array.isArray(data) || data.length !== size || !data.every((v) => typeof v === 'number')) {
      throw corrupt(`parameter "${name}" needs ${size} numbers in data, got ${describeValue(data)}`);
    }
    tensors.set(name, { shape: shape as number[], data: Float32Array.from(data as number[]) });
  }
  return { specs, tensors };
}

/** Reads the architecture out of a safetensors file saved by backprop-wasm. */
export function layerSpecsOf(metadata: Record<string, string>): LayerSpec[] {
  if (metadata.format !== FORMAT || metadata.layers === undefined) {
    throw corrupt(
      'the file has no backprop-wasm architecture in its __metadata__ (a file saved by PyTorch?): build the equivalent ' +
        'Network and call net.loadWeights(bytes)',
    );
  }
  try {
    return checkLayerSpecs(JSON.parse(metadata.layers));
  } catch (error) {
    if (error instanceof BackpropError) throw error;
    throw corrupt(`__metadata__.layers is not valid JSON (${(error as Error).message})`);
  }
}

export { corrupt as corruptFileError };
