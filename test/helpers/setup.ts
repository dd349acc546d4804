// Vitest setup file: runs in every test file's context, so its hooks apply to each file. A test
// run must leave nothing behind, and vitest ends its workers without a normal process exit, so
// 'exit' handlers cannot be relied on for what a file made.
import { afterAll } from 'vitest';
import { removeUcarpCopy } from './ucarp.js';

afterAll(() => {
  removeUcarpCopy();
});
