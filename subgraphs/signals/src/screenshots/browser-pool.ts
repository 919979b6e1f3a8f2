import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../../kit/src';
import { launchBrowser, type Browser, type BrowserContext, type Page } from './puppeteer';

export const DEFAULT_CHROME_PATH = '/usr/bin/chromium';
/** Headless Chromium in a container, with nothing running in the background of a screenshot. */
export const CHROME_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--hide-scrollbars',
  '--mute-audio',
];

export interface BrowserPoolOptions {
  /** Default /usr/bin/chromium (config reads CHROME_PATH). */
  executablePath?: string;
  /** Browsers kept running; pages are spread over them. Default 1. */
  size?: number;
  /** A browser is replaced after serving this many pages (Chromium grows over time). Default 100. */
  pagesPerBrowser?: number;
  /** Default 30 s. */
  launchTimeoutMs?: number;
  /** A browser (or page) not closed within this is killed. Default 5 s. */
  closeTimeoutMs?: number;
  /** Extra Chromium flags. */
  args?: string[];
}

export type RestartReason = 'pages' | 'crash' | 'hung';

interface Instance {
  browser: Browser;
  process: ChildProcess | null;
  /** Pages open now, and ever. */
  active: number;
  served: number;
  /** Takes no new pages; closed once its last page is. */
  retired: boolean;
  /** We are closing it: its disconnection is no crash. */
  closing: boolean;
}

interface Slot {
  current: Instance | null;
  launching: Promise<Instance> | null;
  /** Pages leased through this slot (load balancing). */
  leased: number;
}

const exited = (process: ChildProcess): Promise<void> =>
  process.exitCode !== null || process.signalCode !== null ? Promise.resolve() : new Promise((resolve) => process.once('exit', () => resolve()));

/**
 * Chromium browsers reused across jobs. Each job gets a fresh incognito context (its own cookies
 * and cache) with one page, closed after the job. A browser is replaced after `pagesPerBrowser`
 * pages, and when it crashes or disconnects (the next lease launches a new one). `close()` closes
 * every browser and kills any that does not exit, so no Chromium process outlives the pool.
 */
export class BrowserPool {
  private readonly slots: Slot[];
  private readonly running = new Set<Instance>();
  private readonly contextClosing = new WeakMap<BrowserContext, Promise<void>>();
  private closing: Promise<void> | null = null;
  private readonly executablePath: string;
  private readonly pagesPerBrowser: number;
  private readonly launchTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly args: string[];

  constructor(
    options: BrowserPoolOptions,
    private readonly hooks: { log: Logger; onRestart?: (reason: RestartReason) => void },
  ) {
    this.executablePath = options.executablePath ?? DEFAULT_CHROME_PATH;
    this.pagesPerBrowser = Math.max(1, options.pagesPerBrowser ?? 100);
    this.launchTimeoutMs = options.launchTimeoutMs ?? 30_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.args = [...CHROME_ARGS, ...(options.args ?? [])];
    this.slots = Array.from({ length: Math.max(1, options.size ?? 1) }, () => ({ current: null, launching: null, leased: 0 }));
  }

  /**
   * Runs `work` on a new page in a new incognito context, closed afterwards. Aborting `signal`
   * closes the context at once (the work's pending calls then reject); a context that does not
   * close in time takes its browser down with it.
   */
  async withPage<T>(work: (page: Page, context: BrowserContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closing) throw new Error('browser pool is closed');
    const slot = this.slots.reduce((best, candidate) => (candidate.leased < best.leased ? candidate : best));
    slot.leased += 1;
    let instance: Instance | undefined;
    let context: BrowserContext | undefined;
    let onAbort: (() => void) | undefined;
    try {
      signal?.throwIfAborted();
      instance = await this.instanceFor(slot);
      instance.active += 1;
      instance.served += 1;
      if (instance.served >= this.pagesPerBrowser) this.retire(slot, instance);
      context = await instance.browser.createBrowserContext();
      const [leasedInstance, leasedContext] = [instance, context];
      onAbort = () => void this.closeContext(leasedInstance, leasedContext);
      signal?.addEventListener('abort', onAbort, { once: true });
      signal?.throwIfAborted();
      return await work(await context.newPage(), context);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (instance && context) await this.closeContext(instance, context);
      slot.leased -= 1;
      if (instance) {
        instance.active -= 1;
        if (instance.retired && instance.active === 0) void this.shutdown(instance);
      }
    }
  }

  /** PIDs of the Chromium browser processes running now. */
  pids(): number[] {
    return [...this.running].flatMap((instance) => (instance.process?.pid ? [instance.process.pid] : []));
  }

  /** Browsers running, and pages leased now (a page is counted until its context has closed). */
  stats(): { browsers: number; pages: number } {
    return { browsers: this.running.size, pages: this.slots.reduce((sum, slot) => sum + slot.leased, 0) };
  }

  /** Closes every browser (killing those that do not exit); later leases are refused. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.slots.map((slot) => slot.launching));
      await Promise.all([...this.running].map((instance) => this.shutdown(instance)));
    })();
    return this.closing;
  }

  private async instanceFor(slot: Slot): Promise<Instance> {
    const current = slot.current;
    if (current && !current.retired && current.browser.connected) return current;
    slot.launching ??= this.launch(slot).finally(() => {
      slot.launching = null;
    });
    return slot.launching;
  }

  private async launch(slot: Slot): Promise<Instance> {
    const browser = await launchBrowser({
      executablePath: this.executablePath,
      headless: true,
      pipe: true,
      args: this.args,
      timeout: this.launchTimeoutMs,
      protocolTimeout: 60_000,
      // The service closes the pool on SIGTERM itself (runService); puppeteer's own handlers would race it.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const instance: Instance = { browser, process: browser.process(), active: 0, served: 0, retired: false, closing: false };
    this.running.add(instance);
    browser.once('disconnected', () => this.disconnected(slot, instance));
    if (this.closing) {
      await this.shutdown(instance);
      throw new Error('browser pool is closed');
    }
    slot.current = instance;
    this.hooks.log.debug({ pid: instance.process?.pid }, 'chromium started');
    return instance;
  }

  private retire(slot: Slot, instance: Instance): void {
    instance.retired = true;
    if (slot.current === instance) slot.current = null;
  }

  private disconnected(slot: Slot, instance: Instance): void {
    this.running.delete(instance);
    if (slot.current === instance) slot.current = null;
    if (instance.closing) return;
    instance.closing = true;
    this.hooks.log.warn({ pid: instance.process?.pid, pages: instance.active }, 'chromium disconnected (crashed or killed); the next page starts a new one');
    this.hooks.onRestart?.('crash');
    // The connection may drop while the process lingers: make sure it is gone.
    if (instance.process) void this.kill(instance.process);
  }

  private closeContext(instance: Instance, context: BrowserContext): Promise<void> {
    let closing = this.contextClosing.get(context);
    if (!closing) {
      closing = (async () => {
        const closed = await Promise.race([
          context.close().then(
            () => true,
            () => true, // the browser is gone already
          ),
          delay(this.closeTimeoutMs, false, { ref: false }),
        ]);
        if (!closed && !instance.closing) {
          this.hooks.log.warn({ pid: instance.process?.pid }, 'a page did not close in time; restarting its browser');
          this.hooks.onRestart?.('hung');
          await this.shutdown(instance);
        }
      })();
      this.contextClosing.set(context, closing);
    }
    return closing;
  }

  private async shutdown(instance: Instance): Promise<void> {
    const reason = instance.retired ? 'pages' : null;
    instance.closing = true;
    this.running.delete(instance);
    await Promise.race([instance.browser.close().catch(() => undefined), delay(this.closeTimeoutMs, undefined, { ref: false })]);
    if (instance.process) await this.kill(instance.process);
    if (reason) this.hooks.onRestart?.(reason);
  }

  private async kill(process: ChildProcess): Promise<void> {
    if (process.exitCode === null && process.signalCode === null) process.kill('SIGKILL');
    // Puppeteer starts Chromium as a process-group leader: its zygotes and renderers go with the group.
    if (process.pid !== undefined) {
      try {
        globalThis.process.kill(-process.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    }
    await exited(process);
  }
}
