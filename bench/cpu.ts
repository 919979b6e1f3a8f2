import { readdirSync, readFileSync } from 'node:fs';

/** CPU milliseconds (user + system) process `pid` used so far; null where /proc cannot tell. */
export function cpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** CPU milliseconds every running process called `command` (postgres, redis-server) used so far; exited ones drop out. */
export function commandCpuMs(command: string): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
  let total = 0;
  for (const entry of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (stat.includes(`(${command})`)) total += cpuMs(Number(entry)) ?? 0;
  }
  return total;
}

/**
 * Milliseconds the main thread of `pid` has spent on a core and waiting for one while runnable
 * (Linux's schedstat), so far; null where /proc cannot tell.
 */
export function schedMs(pid: number | undefined): { runMs: number; waitMs: number } | null {
  if (pid === undefined) return null;
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return run === undefined || wait === undefined ? null : { runMs: run / 1e6, waitMs: wait / 1e6 };
  } catch {
    return null;
  }
}
