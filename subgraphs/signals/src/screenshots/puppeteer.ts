// puppeteer is an ES module: types are imported as such, and the code with import(), which a
// CommonJS module may do (compiled to require() under Jest, which then transforms the package).
import type { Browser, BrowserContext, CookieData, LaunchOptions, Page } from 'puppeteer' with { 'resolution-mode': 'import' };

export type { Browser, BrowserContext, CookieData, Page };

export async function launchBrowser(options: LaunchOptions): Promise<Browser> {
  const { launch } = await import('puppeteer');
  return launch(options);
}
