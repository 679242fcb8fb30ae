#!/usr/bin/env node
// Entry point of the `curvefs` command: runs the compiled CLI.
import { main } from '../dist/cli/main.js';
main(process.argv).catch((error) => {
  console.error(`curvefs: ${error?.message ?? error}`);
  process.exit(1);
});
