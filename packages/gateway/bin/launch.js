// Shared by the bins: runs a compiled entry point (dist/ only). In the workspace the sibling
// packages export their TypeScript sources by default: build first (`pnpm build`) and start Node
// with `--conditions=c7auth-dist` so they resolve to their dist/ as well.

/**
 * Imports `entry` (relative to this folder), or explains how to build when it cannot be loaded.
 * @param {string} name the bin's name, for the message
 * @param {string} entry e.g. `../dist/server/main.js`
 */
export async function launch(name, entry) {
  try {
    await import(new URL(entry, import.meta.url).href)
  } catch (err) {
    const code = /** @type {{ code?: string }} */ (err).code
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && code !== 'ERR_MODULE_NOT_FOUND') throw err
    process.stderr.write(
      `${name}: cannot load the compiled package (${String(err)}). In a source checkout, run ` +
        '`pnpm build` and start it with `node --conditions=c7auth-dist`.\n',
    )
    process.exitCode = 1
  }
}
