// The views in a real browser: headless Chromium loads the built package as ESM from a local http server,
// replays a shared trace fetched over http, draws the heap map, and the DOM is checked against the lab's rows.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, type Page, chromium } from "playwright-core";
import { type StaticServer, serveStatic } from "./browser/server.js";
import { reportHTML } from "../../src/viz/index.js";
import { syntheticHeap, syntheticTimeline } from "./synthetic.js";
import { formatBytes, formatPercent } from "../../src/report/format.js";
import { heaplab } from "../cli/run.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHARED = resolve(ROOT, "../shared");
const OUTPUT = join(ROOT, "test-output");
const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const CI = !!process.env.CI;
const haveChromium = existsSync(CHROMIUM);
const haveModel = existsSync(join(ROOT, "build/ptmalloc.wasm"));

if (!haveChromium) {
  const why = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (CI) throw new Error(`browser test: ${why}`);
  console.warn(`browser test skipped: ${why}`);
}

/** Opens the test page with a query and waits until it has drawn (or failed). */
async function openPage(browser: Browser, server: StaticServer, query: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.url}/test/viz/browser/index.html?${query}`);
  await page.waitForFunction(() => document.body.dataset.state !== "loading", undefined, { timeout: 180_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  const result = await page.evaluate(() => (window as unknown as { heaplabResult: { error?: string } }).heaplabResult);
  expect(result.error ?? "", errors.join("\n")).toBe("");
  expect(state).toBe("done");
  return page;
}

describe.skipIf(!haveChromium)("heap views in Chromium", () => {
  let browser: Browser;
  let server: StaticServer;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "dist/viz/index.js"))) throw new Error("dist/ is not built: run `npm run build`");
    mkdirSync(OUTPUT, { recursive: true });
    server = await serveStatic(ROOT, SHARED);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("draws the built views of synthetic rows as ESM", { timeout: 240_000 }, async () => {
    const page = await openPage(browser, server, "synthetic=1");
    const result = await page.evaluate(() => (window as unknown as { heaplabResult: { chunks: number } }).heaplabResult);
    expect(await page.locator("#map rect.chunk").count()).toBe(result.chunks);
    expect(await page.locator("#bins rect.member").count()).toBeGreaterThan(0);
    const box = await page.locator("#map svg").boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    await page.screenshot({ path: join(OUTPUT, "browser-synthetic.png"), fullPage: true });
    await page.close();
  });

  it("steps the report's scrubber: the heap map and the timeline cursor follow", { timeout: 240_000 }, async () => {
    const heap = syntheticHeap(60);
    const snapshots = [10, 25, 40, 63].map((n, i) => ({ op: (i + 1) * 200, chunks: heap.slice(0, n) }));
    writeFileSync(join(OUTPUT, "report.html"), reportHTML({ title: "scrubber", timeline: syntheticTimeline(), snapshots }));
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const firstRequest = server.requests.length;
    await page.goto(`${server.url}/test-output/report.html`);
    const chunksShown = () => page.locator("#heaplab-map rect.chunk").count();
    const cursorX = () => page.locator("#heaplab-timeline line.cursor").getAttribute("x1");
    expect(await chunksShown()).toBe(63);
    const atEnd = Number(await cursorX());
    await page.keyboard.press("ArrowLeft");
    expect(await chunksShown()).toBe(40);
    await page.click("#heaplab-prev");
    expect(await chunksShown()).toBe(25);
    expect(Number(await cursorX())).toBeLessThan(atEnd);
    await page.locator("#heaplab-scrubber").evaluate((input: HTMLInputElement) => {
      input.value = "0";
      input.dispatchEvent(new Event("input"));
    });
    expect(await chunksShown()).toBe(10);
    expect(await page.locator("#heaplab-frame-label").textContent()).toContain("1/4");
    await page.click("#heaplab-next");
    expect(await chunksShown()).toBe(25);
    expect(errors).toEqual([]);
    expect(server.requests.slice(firstRequest), "the report fetches nothing").toEqual(["/test-output/report.html"]);
    await page.close();
  });

  it.skipIf(!haveModel && !CI)("render --html: the page's numbers are replay --json's, and every frame has one scale", { timeout: 240_000 }, async () => {
    const example = join(ROOT, "examples", "ls-la.trace");
    expect(heaplab(["render", example, "--html", "-o", join(OUTPUT, "ls-la.html")]).status).toBe(0);
    const json = JSON.parse(heaplab(["replay", example, "--json"]).stdout);
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/test-output/ls-la.html`);
    const table = (id: string) => page.locator(`table.report[data-table="${id}"] tr`).evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll("th,td")].map((c) => c.textContent ?? "")));
    const memory = await table("memory");
    expect(memory.find((r) => r[0] === "footprint")!.slice(1, 3)).toEqual([formatBytes(json.footprint.peak), formatBytes(json.footprint.final)]);
    expect(memory.find((r) => r[0] === "live (requested)")!.slice(1, 3)).toEqual([formatBytes(json.live.peak), formatBytes(json.live.final)]);
    const fragmentation = await table("fragmentation");
    expect(fragmentation.slice(1, 5).map((r) => r[1])).toEqual(json.fragmentation.johnstoneWilson.map((f: number) => formatPercent(f)));
    expect((await table("syscalls")).find((r) => r[0] === "brk")![1]).toBe(String(json.syscalls.brk));
    const stops = Number(await page.locator("#heaplab-scrubber").getAttribute("max")) + 1;
    expect(stops).toBeGreaterThanOrEqual(40);
    const scales = new Set<string | null>();
    for (let i = 0; i < stops; i++) {
      await page.locator("#heaplab-scrubber").evaluate((input: HTMLInputElement, at: number) => {
        input.value = String(at);
        input.dispatchEvent(new Event("input"));
      }, i);
      scales.add(await page.locator("#heaplab-map g.map").getAttribute("data-row-bytes"));
    }
    expect(scales.size).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it.skipIf(!haveModel && !CI)("replays sort-S1M fetched over http and draws one rect.chunk per chunk", { timeout: 240_000 }, async () => {
    const page = await openPage(browser, server, "trace=/shared/traces/sort-S1M.trace.gz&model=ptmalloc");
    const result = await page.evaluate(() =>
      (window as unknown as { heaplabResult: { chunks: number; ops: number; states: string[] } }).heaplabResult);
    expect(result.ops).toBeGreaterThan(100);
    expect(result.chunks).toBeGreaterThan(0);
    expect(await page.locator("#map rect.chunk").count()).toBe(result.chunks);
    const drawnStates = await page.locator("#map rect.chunk").evaluateAll((rects) =>
      rects.map((r) => r.getAttribute("data-state")).sort());
    expect(drawnStates).toEqual([...result.states].sort());
    expect(await page.locator("#timeline g.peak").count()).toBe(2);
    expect(server.requests.some((r) => r.endsWith("/build/ptmalloc.wasm"))).toBe(true);
    expect(server.requests).toContain("/shared/traces/sort-S1M.trace.gz");
    await page.screenshot({ path: join(OUTPUT, "browser-sort-S1M.png"), fullPage: true });
    await page.close();
  });
});
