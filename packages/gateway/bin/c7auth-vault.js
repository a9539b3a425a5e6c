#!/usr/bin/env node
// Runs the compiled vault CLI (dist/ only). In the workspace the sibling packages export their
// TypeScript sources by default: build first (`pnpm build`) and start Node with
// `--conditions=c7auth-dist` so they resolve to their dist/ as well.
try {
  await import('../dist/vault-cli/main.js')
} catch (err) {
  const code = /** @type {{ code?: string }} */ (err).code
  if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && code !== 'ERR_MODULE_NOT_FOUND') throw err
  process.stderr.write(
    `c7auth-vault: cannot load the compiled package (${String(err)}). In a source checkout, run ` +
      '`pnpm build` and start it with `node --conditions=c7auth-dist`.\n',
  )
  process.exitCode = 1
}
