#!/usr/bin/env node
// The `tip` executable. Checks the Node version before loading anything heavy: the CLI pulls in
// native modules (better-sqlite3) that crash without a message on too old a Node.
import { nodeVersionProblem, requiredNodeRange } from './nodeVersion.js';

const problem = nodeVersionProblem(process.versions.node, requiredNodeRange());
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

const { main } = await import('./cli.js');
const code = await main(process.argv.slice(2));
// Let stdout/stderr drain before exiting: plugins may leave handles open, so exit explicitly.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
