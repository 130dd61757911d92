import { Command, CommanderError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { CliError, describeFailure, EXIT, formatError } from './context.ts';
import { registerServe } from './commands/serve.ts';
import { registerCommands } from './commands/index.ts';
import { configureHelp } from './options.ts';
import { serverPackageRoot } from '../support/package-root.ts';

/** The version of the server package, which the `latchkey` command belongs to. */
function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(serverPackageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Builds the `latchkey` program. Exported for tests; `run` executes it. */
export function buildProgram(): Command {
  const program = new Command('latchkey')
    .description('Latchkey: machine-to-machine access with client credentials and cached JWT access tokens')
    .version(packageVersion(), '-V, --version', 'print the version of latchkey')
    .showSuggestionAfterError()
    .exitOverride()
    // Commander's own errors (unknown option, missing argument) get the style of every other error.
    .configureOutput({ outputError: (text, write) => write(formatError(text)) });
  configureHelp(program);
  registerServe(program);
  registerCommands(program);
  // Without a command (or a noun without its verb) commander would print the whole help; a usage
  // error is one line and exit 2, like every other.
  for (const command of [program, ...program.commands.filter((c) => c.commands.length > 0)]) {
    command.allowExcessArguments().action(() => {
      const path = command === program ? 'latchkey <command>' : `latchkey ${command.name()} <${command.commands.map((c) => c.name()).join('|')}>`;
      const given = command.args[0];
      throw new CliError(given === undefined ? `missing command: ${path}; see --help` : `unknown command '${given}': ${path}; see --help`, EXIT.usage);
    });
  }
  return program;
}

/** Runs the CLI with `argv`; sets process.exitCode. main.ts calls it; tests build the program without running it. */
export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const { message, exitCode } = describeFailure(error);
    process.stderr.write(formatError(message));
    process.exitCode = exitCode;
  }
}
