export { ENGINE_BEHAVIOURS } from './behaviours.js'
export type { EngineBehaviour } from './behaviours.js'
export type { ParityEngine, ProbeAnswer, EngineUser } from './probe-client.js'
