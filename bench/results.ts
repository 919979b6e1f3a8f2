import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RESULTS = path.resolve(__dirname, 'RESULTS.md');

/** The machine a figure was measured on, for the results log. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown cpu';
  return `${os.hostname()}, ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

/** HEAD, and whether the code measured differs from it (RESULTS.md itself aside). */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', '.', ':!bench/RESULTS.md'], { encoding: 'utf8', cwd: path.resolve(__dirname, '..') }).trim();
    return changed ? `${head} with uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Appends one benchmark's section to bench/RESULTS.md with the date, commit and machine. */
export function appendResults(title: string, lines: string[]): void {
  if (!existsSync(RESULTS)) writeFileSync(RESULTS, '# Benchmark results\n\nAppended by `npm run bench:<name>`; newest last.\n');
  const header = `\n## ${title}: ${new Date().toISOString()}\n\nCommit ${commit()}; ${machine()}.\n\n`;
  appendFileSync(RESULTS, `${header}${lines.join('\n')}\n`);
}
