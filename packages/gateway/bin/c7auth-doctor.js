#!/usr/bin/env node
// In the workspace the packages export TypeScript sources, so run them through tsx;
// a published package ships only dist/.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = fileURLToPath(new URL('../src/doctor/main.ts', import.meta.url))
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(source)
} else {
  await import('../dist/doctor/main.js')
}
