#!/usr/bin/env node
// Runs the compiled gateway (dist/ only; see launch.js).
import { launch } from './launch.js'

await launch('c7auth-gateway', '../dist/server/main.js')
