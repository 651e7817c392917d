// Runs in every test worker. Workers run at a lower scheduling priority than Vitest's
// main process, which must answer their progress calls within a fixed 60 s deadline
// ("Timeout calling onTaskUpdate" otherwise): on a machine busy with other work the
// tests slow down, but the run does not fail for it. No effect on an idle machine.
import { setPriority } from "node:os"

try {
  setPriority(10)
} catch {}
