/**
 * The `docket` command line: the root command with the global options
 * (`GlobalOptions`), and one module per command group under `commands/`
 * (DESIGN section 10). `bin.ts` provides the platform and runs it.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Backfill from "./commands/Backfill.js"
import * as Doctor from "./commands/Doctor.js"
import * as Documents from "./commands/Documents.js"
import * as Local from "./commands/Local.js"
import * as Query from "./commands/Query.js"
import * as Reconcile from "./commands/Reconcile.js"
import * as Table from "./commands/Table.js"
import * as GlobalOptions from "./GlobalOptions.js"

/** The `docket` command. */
export const docket = GlobalOptions.root.pipe(
  Command.withDescription(
    "A DynamoDB cache and index in front of the S3 bucket of change and announcement documents. Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 drift (reconcile).",
  ),
  Command.withSubcommands([
    Documents.put,
    Documents.get,
    Documents.del,
    Query.query,
    Backfill.backfill,
    Reconcile.reconcile,
    Table.table,
    Doctor.doctor,
    Local.local,
    Local.demo,
  ]),
)

/** The runnable CLI: `(argv) => Effect`. */
export const run = Command.run(docket, { name: "docket", version: "0.1.0" })
