#!/usr/bin/env node
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
// Let stdout/stderr drain before exiting: plugins may leave handles open, so exit explicitly.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
