import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests run real DuckDB files and the real Dataform compiler (~2 s a compile).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
