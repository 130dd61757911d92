// The `latchkey` executable's entry point: runs the program in program.ts on this process's arguments.
import { run } from './program.ts';

await run(process.argv);
