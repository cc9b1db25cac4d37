#!/usr/bin/env node
/** The `prw` command (see main.ts). */
import { main } from './main.js';

void main(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
