export { defaultEngineJar, startCamundaEngine } from './start-camunda-engine.js'
export type { CamundaEngine, CamundaEngineOptions, EngineFlavor } from './start-camunda-engine.js'
