// net.summary(): the network as a table — each layer's class (its torch repr), output shape, parameter count
// and bytes — and the totals, as Keras's model.summary() prints it.
import { type Network } from './network.js';

const grouped = (n: number) => n.toLocaleString('en-US');

function bytesText(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** `widths[k]`: the width of layer k's input; widths[layers.length]: the output. */
export function summarize(net: Network, widths: readonly number[]): string {
  const rows = net.layers.map((layer, k) => {
    const params = layer.parameters().reduce((sum, p) => sum + p.size, 0);
    const bufferBytes = layer.buffers().reduce((sum, b) => sum + b.size * (b.dtype === 'int64' ? 8 : 4), 0);
    return [String(k), String(layer), `[N, ${widths[k + 1]}]`, grouped(params), grouped(params * 4 + bufferBytes)];
  });
  const header = ['#', 'Layer', 'Output shape', 'Parameters', 'Bytes'];
  const sizes = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const right = [false, false, false, true, true];
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (right[c] ? cell.padStart(sizes[c]) : cell.padEnd(sizes[c])))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(sizes.reduce((a, b) => a + b, 0) + 2 * (sizes.length - 1));
  const total = net.parameterCount;
  const buffers = net.buffers();
  const bufferValues = buffers.reduce((sum, b) => sum + b.size, 0);
  const bufferBytes = buffers.reduce((sum, b) => sum + b.size * (b.dtype === 'int64' ? 8 : 4), 0);
  return [
    `Network (${net.training ? 'training' : 'eval'} mode), input [N, ${widths[0]}]`,
    rule,
    line(header),
    rule,
    ...rows.map(line),
    rule,
    `Total parameters: ${grouped(total)} (${bytesText(total * 4)} as float32; their gradients take as much again)`,
    `Trainable parameters: ${grouped(total)}`,
    `Buffers (not trained): ${grouped(bufferValues)} values (${bytesText(bufferBytes)})`,
  ].join('\n');
}
