/**
 * The fixtures the reconcile test files share: the clock they start at and one
 * change document inside every test's retention window.
 */
import type * as Document from "@docket/core/Document"

/** The clock every reconcile test starts at. */
export const NOW = Date.parse("2026-12-01T00:00:00Z")

/** An approved change for `acme`, scheduled around NOW; `title` varies its content. */
export const change = (id: string, version = 1, title = "t"): Document.AnyDocument => ({
  kind: "change",
  id: id as never,
  version,
  title,
  customers: ["acme"],
  status: "approved",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-02T10:00:00Z",
})
