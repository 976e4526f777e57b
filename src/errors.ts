/** What kind of problem a BackpropError reports. */
export type BackpropErrorCode =
  | 'NOT_INITIALIZED'
  | 'SHAPE_MISMATCH'
  | 'BAD_TYPE'
  | 'NON_FINITE'
  | 'BAD_OPTION'
  | 'BAD_STATE'
  | 'DISPOSED'
  | 'OUT_OF_RANGE'
  | 'CORRUPT_FILE'
  | 'OUT_OF_MEMORY'
  | 'WORKER_FAILED';

/** Every error that backprop-wasm throws on purpose: `code` says the kind, the message says what was
 *  expected and what came. When one is thrown, the network, its gradients and optimizer state are as
 *  they were before the call. */
export class BackpropError extends Error {
  readonly code: BackpropErrorCode;
  constructor(code: BackpropErrorCode, message: string) {
    super(message);
    this.name = 'BackpropError';
    this.code = code;
  }
}

/** Describes a received value briefly for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 20 ? value.slice(0, 20) + '…' : value)}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  if (typeof value === 'function') {
    // a class given where an instance belongs: name it, never print its source
    const name = (value as { name?: string }).name || 'anonymous';
    return /^class\b/.test(Function.prototype.toString.call(value))
      ? `the class ${name} itself (create one with new ${name}(…))`
      : `the function ${name}`;
  }
  return `${typeof value} ${String(value)}`;
}
