// What a training or evaluation call reports besides its status (layout: the Result struct of abi.json).
import { RESULT_BYTES } from "./generated/abi";

export const RESULT = memory.data(<i32>RESULT_BYTES, 8);

export function resultPtr(): usize {
  return RESULT;
}
