// Runs an ES-module script in a new Node process (init() picks its core once per process, so a different
// core or thread count needs one): what it printed, trimmed.
import { execFileSync } from 'node:child_process';

export function runModule(script: string, flags: string[] = []): string {
  return execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
}
