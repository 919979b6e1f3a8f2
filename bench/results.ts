import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/** The machine's CPU time so far, from /proc/stat (clock ticks): all of it, and what the hypervisor stole; null off Linux. */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    return { total: fields.slice(0, 8).reduce((sum, value) => sum + value, 0), steal: fields[7] ?? 0 };
  } catch {
    return null;
  }
}

/**
 * Milliseconds one core takes for a fixed piece of JSON work, the kind our services do most. The
 * machine's speed has been seen to vary twice over within an hour: figures of runs whose
 * calibrations differ much do not compare.
 */
function calibrationMs(): number {
  const document = { id: 'a0ee1d5e-0d5b-4f7e-9c59-34f0a8c0d1b2', lines: Array.from({ length: 20 }, (_, index) => ({ productId: `p-${index}`, quantity: index, price: '123.45' })) };
  // Untimed rounds first, so the first calibration is not also timing the JIT.
  for (let round = 0; round < 2_000; round += 1) JSON.parse(JSON.stringify(document));
  const started = process.hrtime.bigint();
  for (let round = 0; round < 20_000; round += 1) JSON.parse(JSON.stringify(document));
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Sampled when a benchmark loads this module: the machine before the run. */
const ticksAtStart = cpuTicks();
const calibrationAtStart = calibrationMs();

/** Share of the machine's CPU time the hypervisor gave to others since the benchmark started. */
function stolenSinceStart(): string {
  const now = cpuTicks();
  if (!ticksAtStart || !now || now.total === ticksAtStart.total) return 'unknown';
  return `${((100 * (now.steal - ticksAtStart.steal)) / (now.total - ticksAtStart.total)).toFixed(1)} %`;
}

/**
 * Appends one benchmark's section to bench/RESULTS.md with the date, commit and machine, the CPU
 * time stolen by the VM's host during the run, and the machine's speed before it.
 */
export function appendResults(title: string, lines: string[]): void {
  if (!existsSync(RESULTS)) writeFileSync(RESULTS, '# Benchmark results\n\nAppended by `npm run bench:<name>`; newest last.\n');
  // Only before the run: afterwards the benchmark's own processes are still up and would be measured too.
  const speed = `calibration before the run (fixed JSON work on one core; lower is faster): ${calibrationAtStart.toFixed(0)} ms`;
  const header = `\n## ${title}: ${new Date().toISOString()}\n\nCommit ${commit()}; ${machine()}; CPU stolen by the VM's host during the run: ${stolenSinceStart()}; ${speed}.\n\n`;
  appendFileSync(RESULTS, `${header}${lines.join('\n')}\n`);
}
