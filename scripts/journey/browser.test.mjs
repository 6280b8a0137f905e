// The journey (journey.ts) in headless Chromium: page.html, served from another origin than the
// API, runs it through the generated client and the browser's fetch, so CORS (preflights, allowed
// and exposed headers) is what a web app meets. Started by internal/journey's Go test with
// CCB_JOURNEY_PAGE (the page's URL), CCB_JOURNEY_API (the API origin) and CCB_CHROMIUM.
import { test } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { CCB_JOURNEY_PAGE: pageURL, CCB_JOURNEY_API: baseUrl, CCB_CHROMIUM: executablePath = "/usr/bin/chromium" } = process.env;
if (!pageURL || !baseUrl) throw new Error("CCB_JOURNEY_PAGE and CCB_JOURNEY_API must be set (run it through internal/journey)");

// Debian's Chromium, never a browser download of playwright's own; no sandbox (root), no GPU, and
// nothing that would reach the network on its own.
const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

test("TypeScript client journey (chromium)", async (t) => {
  const userDataDir = await mkdtemp(join(tmpdir(), "ccb-chromium-"));
  t.after(() => rm(userDataDir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: flags });
  t.after(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  // Console errors name what CORS refused (the fetch itself only says "Failed to fetch").
  const logged = [];
  page.on("console", (m) => m.type() === "error" && logged.push(m.text()));
  page.on("pageerror", (err) => logged.push(String(err)));
  await page.goto(pageURL);
  await page.waitForSelector("body[data-ready=true]", { state: "attached" });
  const steps = await page.evaluate((api) => window.runJourney(api), baseUrl);
  for (const s of steps) {
    await t.test(s.name, () => {
      if (s.ok) return;
      // The page's stack, not this process's: the failure happened there.
      const err = new Error(`in the page:\n${s.error}\nbrowser console:\n${logged.join("\n") || "(empty)"}`);
      err.stack = err.message;
      throw err;
    });
  }
  if (steps.length === 0 || !steps.every((s) => s.ok)) throw new Error(`the journey stopped after ${steps.length} steps`);
});
