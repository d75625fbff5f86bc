import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests run the sources: `#host` (package.json "imports") names the compiled module, which may be stale.
  resolve: { alias: { "#host": fileURLToPath(new URL("./src/host/node.ts", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: true,
  },
});
