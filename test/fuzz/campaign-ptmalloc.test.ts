// ptmalloc: the fuzz campaign of campaign.ts (one file per model, so that the two run in parallel).

import { describe, it } from "vitest";
import { BUDGET, campaign } from "./campaign.js";

describe("fuzzing with the invariant checkers after every operation", () => {
  it(`ptmalloc: ${BUDGET} random operations`, () => campaign("ptmalloc"), 900_000);
});
