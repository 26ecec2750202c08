// Prisma 6.19 with the WebAssembly schema engine and the pg driver adapter: the combination that
// migrates with no engine download (see README, "Database migrations").
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  adapter() {
    return Promise.resolve(new PrismaPg({ connectionString: process.env.DATABASE_URL! }));
  },
});
