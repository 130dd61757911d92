import { Command, CommanderError } from 'commander';
import { CliError, describeFailure, EXIT } from './context.ts';
import { registerServe } from './commands/serve.ts';
import { registerCommands } from './commands/index.ts';

/** Builds the `latchkey` program. Exported for tests; `run` executes it. */
export function buildProgram(): Command {
  const program = new Command('latchkey')
    .description('Latchkey: machine-to-machine access with client credentials and cached JWT access tokens')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.split('\n')[0] + '\n') });
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

/** Runs the CLI with `argv`; sets process.exitCode. */
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
    process.stderr.write(`latchkey: ${message}\n`);
    process.exitCode = exitCode;
  }
}

await run(process.argv);
