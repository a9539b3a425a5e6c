#!/usr/bin/env node
// Runs the compiled doctor (dist/ only; see launch.js).
import { launch } from './launch.js'

await launch('c7auth-doctor', '../dist/doctor/main.js')
