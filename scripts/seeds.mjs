// The one fixed property seed (docs/testing.md, "Seeds"): CI's (`vitest.setup.ts`, when
// CI=true) and mutation testing's (`scripts/mutate.mjs`), so a mutant's verdict is made on
// the same draw as CI's.
export const ciSeed = 20261201
