// The journey (journey.ts) under node's test runner, through the generated client and node's fetch.
// Started by internal/journey's Go test with CCB_JOURNEY_BUILD (the compiled journey) and
// CCB_JOURNEY_API (the API origin).
import { test } from "node:test";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const { CCB_JOURNEY_BUILD: build, CCB_JOURNEY_API: baseUrl } = process.env;
if (!build || !baseUrl) throw new Error("CCB_JOURNEY_BUILD and CCB_JOURNEY_API must be set (run it through internal/journey)");
const { runJourney } = await import(pathToFileURL(join(build, "scripts/journey/journey.js")).href);

test("TypeScript client journey (node)", async (t) => {
  await runJourney({
    baseUrl,
    // A failed step ends the journey: the later ones depend on it.
    step: async (name, fn) => {
      let failure;
      await t.test(name, async () => {
        try {
          await fn();
        } catch (err) {
          failure = err;
          throw err;
        }
      });
      if (failure !== undefined) throw new Error(`step "${name}" failed`, { cause: failure });
    },
  });
});
