// Where the parts of a layer kernel's per-batch scratch lie (assembly/abi.json, layerKernels' "scratch"):
// the `fixed` floats first, then `perFeature` parts of `width` floats, `perRow` parts of `rows` floats and
// `perElement` parts of rows·width floats, each part rounded up to 4 floats (16 bytes). src/kernel.ts sizes
// the scratch by the same rule.

@inline function partFloats(n: i32): usize {
  return <usize>((n + 3) & ~3);
}

/** Start of per-feature part `index`. */
export function featurePart(scratch: usize, fixed: i32, index: i32, width: i32): usize {
  return scratch + ((partFloats(fixed) + <usize>index * partFloats(width)) << 2);
}

/** Start of per-row part `index` for a batch of `rows`. */
export function rowPart(scratch: usize, fixed: i32, perFeature: i32, index: i32, width: i32, rows: i32): usize {
  return featurePart(scratch, fixed, perFeature, width) + ((<usize>index * partFloats(rows)) << 2);
}

/** Start of per-element part `index` for a batch of `rows` × `width`. */
export function elementPart(
  scratch: usize, fixed: i32, perFeature: i32, perRow: i32, index: i32, width: i32, rows: i32,
): usize {
  return rowPart(scratch, fixed, perFeature, perRow, width, rows) + ((<usize>index * partFloats(rows * width)) << 2);
}
