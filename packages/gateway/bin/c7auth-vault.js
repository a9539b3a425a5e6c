#!/usr/bin/env node
// Runs the compiled vault CLI (dist/ only; see launch.js).
import { launch } from './launch.js'

await launch('c7auth-vault', '../dist/vault-cli/main.js')
