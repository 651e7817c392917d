/**
 * @docket/cli: the `docket` command line. `Cli` declares the commands, `bin`
 * runs them; the other modules are what the commands are made of.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
export * as CliError from "./CliError.js"
export * as GlobalOptions from "./GlobalOptions.js"
export * as Input from "./Input.js"
export * as LocalState from "./LocalState.js"
export * as Output from "./Output.js"
