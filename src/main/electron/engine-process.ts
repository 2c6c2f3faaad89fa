// The engine runs in its own Electron utilityProcess (out/main/engine-host.js), so a native
// crash or an out-of-memory abort in the engine or a worker never takes the windows down. This
// file only says how to fork it; EngineSupervisor does the forwarding and restarting.
import { join } from 'node:path'
import type { ForkOptions, UtilityProcess } from 'electron'
import type { EngineChild, SupervisorOptions } from './engine-supervisor'
import { EngineSupervisor } from './engine-supervisor'

export const ENGINE_SERVICE_NAME = 'Batchery engine'
export const ENGINE_HOST_FILE = 'engine-host.js'

/** The built engine host, beside the main bundle in out/main. */
export function engineHostPath(mainBundleDir: string): string {
  return join(mainBundleDir, ENGINE_HOST_FILE)
}

/** The arguments of utilityProcess.fork: the engine keeps its data in Electron's userData. */
export function engineForkArgs(hostPath: string, userData: string, env: NodeJS.ProcessEnv): [string, string[], ForkOptions] {
  return [hostPath, [], { serviceName: ENGINE_SERVICE_NAME, env: { ...env, BATCHERY_HOME: userData } }]
}

export interface EngineProcessOptions extends Omit<SupervisorOptions, 'fork'> {
  utilityProcess: { fork(modulePath: string, args?: string[], options?: ForkOptions): UtilityProcess }
  hostPath: string
  userData: string
  env?: NodeJS.ProcessEnv
}

export function createEngineProcess(opts: EngineProcessOptions): EngineSupervisor {
  const { utilityProcess, hostPath, userData, env = process.env, ...supervisor } = opts
  const fork = (): EngineChild => utilityProcess.fork(...engineForkArgs(hostPath, userData, env))
  return new EngineSupervisor({ ...supervisor, fork })
}
