import { defineConfig } from "vitest/config";

// Front-end unit tests: the widget against a mock anywidget model in happy-dom.
export default defineConfig({
  test: {
    environment: "happy-dom",
    include: ["js/**/*.test.js"],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
