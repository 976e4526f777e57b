import type * as lib from '../../src/index';

/** FNV-1a over the bytes of every array, in order: a 32-bit fingerprint and the byte count. */
export function fingerprint(arrays: ArrayBufferView[]): string;
/** Runs every case of the bit-identity suite on `library`; a fingerprint per case and the pool's info. */
export function runSuite(library: typeof lib): Promise<{ results: Record<string, string>; info: lib.ThreadsInfo }>;
