// The helper process that starts a files job's commands for the engine (see spawn-collect.ts).
// It is small, so starting a child from it is cheap. It takes requests over the IPC channel and
// answers with each command's process id and then its outcome. If the engine goes away (it
// stopped, or was killed), the helper kills every command still running and exits: a command
// never outlives both. (Commands carry the run's mark in their environment too, so the engine
// finds any leftover at its next start.)
import { spawnCollect, type SpawnRequest } from './engine/spawn-collect'

type Message = { id: number; request: SpawnRequest }

const running = new Map<number, { pid: number; detached: boolean }>()

function send(m: unknown): void {
  if (process.connected) process.send?.(m)
}

process.on('message', (m: Message) => {
  spawnCollect(
    m.request,
    (pid) => {
      if (pid !== undefined) running.set(m.id, { pid, detached: m.request.detached })
      send({ id: m.id, pid: pid ?? null })
    },
    (done) => {
      running.delete(m.id)
      send({ id: m.id, done })
    }
  )
})

process.on('disconnect', () => {
  for (const { pid, detached } of running.values()) {
    try {
      process.kill(detached ? -pid : pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
  process.exit(0)
})

send({ ready: true })
