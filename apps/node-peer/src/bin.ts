import { runCli } from './cli/program.js';

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  process,
});
if (code !== undefined) process.exitCode = code;
