// A long-lived peer process spoken to in JSON lines: one request per line on its stdin, one answer per line on
// its stdout, in order (the PyTorch peer and our threads peers).
import { createInterface } from 'node:readline';

export class JsonLinesProcess {
  /** `child`: a spawned process with piped stdin and stdout; `name` for errors. */
  constructor(child, name) {
    this.process = child;
    this.name = name;
    this.pending = [];
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.resolve(JSON.parse(line)));
    child.on('exit', (code) => {
      for (const p of this.pending.splice(0)) p.reject(new Error(`${name} exited with code ${code}`));
    });
  }

  /** Sends one request; resolves with its answer, rejects when the answer is { error }. */
  async request(message) {
    const answer = await new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.process.stdin.write(JSON.stringify(message) + '\n');
    });
    if (answer.error) throw new Error(`${this.name}: ${answer.error}`);
    return answer;
  }
}
